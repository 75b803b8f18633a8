//! Figures side by side: one table per workload for people, one JSON
//! line per figure for machines.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

/// Which way a figure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Costs: time, CPU, bytes, memory.
    Lower,
    /// Rates: transactions per second.
    Higher,
}

/// What the issue asks of a figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// rovsdb-server at least this many times better than ovsdb-server.
    Ratio(f64),
    /// rovsdb-server's own value at least this (for figures that are
    /// already a comparison, such as full-resend bytes ÷ resync bytes).
    RovnAtLeast(f64),
}

/// One measured quantity, for both servers.
#[derive(Clone, Debug)]
pub struct Figure {
    pub metric: String,
    pub unit: &'static str,
    pub better: Better,
    pub ovs: f64,
    pub rovn: f64,
    pub target: Option<Target>,
}

impl Figure {
    pub fn new(
        metric: impl Into<String>,
        unit: &'static str,
        better: Better,
        ovs: f64,
        rovn: f64,
    ) -> Figure {
        Figure {
            metric: metric.into(),
            unit,
            better,
            ovs,
            rovn,
            target: None,
        }
    }

    /// A duration, in seconds (lower is better).
    pub fn seconds(metric: impl Into<String>, ovs: Duration, rovn: Duration) -> Figure {
        Figure::new(
            metric,
            "s",
            Better::Lower,
            ovs.as_secs_f64(),
            rovn.as_secs_f64(),
        )
    }

    /// A size, in MiB (lower is better).
    pub fn mib(metric: impl Into<String>, ovs: u64, rovn: u64) -> Figure {
        const MIB: f64 = 1024.0 * 1024.0;
        Figure::new(
            metric,
            "MiB",
            Better::Lower,
            ovs as f64 / MIB,
            rovn as f64 / MIB,
        )
    }

    pub fn target(mut self, target: Target) -> Figure {
        self.target = Some(target);
        self
    }

    /// How many times better rovsdb-server is: OVS/rovn for costs,
    /// rovn/OVS for rates. Above 1 means rovsdb-server is better.
    pub fn ratio(&self) -> f64 {
        match self.better {
            Better::Lower => self.ovs / self.rovn,
            Better::Higher => self.rovn / self.ovs,
        }
    }

    /// Whether the target is met; None without a target, or when a value
    /// is too small to measure (CPU time is counted in 10 ms ticks).
    pub fn met(&self) -> Option<bool> {
        if !self.ratio().is_finite() || self.ratio() == 0.0 {
            return None;
        }
        Some(match self.target? {
            Target::Ratio(x) => self.ratio() >= x,
            Target::RovnAtLeast(x) => self.rovn >= x,
        })
    }
}

/// The results of one workload.
#[derive(Clone, Debug)]
pub struct Report {
    pub workload: &'static str,
    /// What was run, e.g. "20000 transactions, 64 in flight".
    pub setup: String,
    pub figures: Vec<Figure>,
}

pub const LEGEND: &str = "ratio = how many times better rovsdb-server is than ovsdb-server \
(OVS/rovn for costs, rovn/OVS for rates): above 1 means rovsdb-server is better";

impl Report {
    pub fn table(&self) -> String {
        let mut out = String::new();
        let width = self
            .figures
            .iter()
            .map(|f| f.metric.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let _ = writeln!(out, "== {}: {}", self.workload, self.setup);
        let _ = writeln!(
            out,
            "{:<width$} {:>6} {:>13} {:>13} {:>9}  target",
            "metric", "unit", "ovsdb-server", "rovsdb-server", "ratio"
        );
        for f in &self.figures {
            let target = match f.target {
                Some(Target::Ratio(x)) => format!("≥{x}x {}", verdict(f.met())),
                Some(Target::RovnAtLeast(x)) => format!("rovn ≥{x} {}", verdict(f.met())),
                None => String::new(),
            };
            let ratio = if f.ratio().is_finite() {
                format!("{:.2}x", f.ratio())
            } else {
                "n/a".into()
            };
            // Pad by characters: units such as "µs" are wider in bytes.
            let unit = format!("{:>6}", f.unit);
            let _ = writeln!(
                out,
                "{:<width$} {unit} {:>13} {:>13} {ratio:>9}  {target}",
                f.metric,
                number(f.ovs),
                number(f.rovn),
            );
        }
        out
    }

    /// One JSON object per figure.
    pub fn json_lines(&self, scale: f64) -> Vec<String> {
        self.figures
            .iter()
            .map(|f| {
                let (target, kind) = match f.target {
                    Some(Target::Ratio(x)) => (Some(x), Some("ratio")),
                    Some(Target::RovnAtLeast(x)) => (Some(x), Some("rovn_at_least")),
                    None => (None, None),
                };
                json!({
                    "workload": self.workload,
                    "metric": f.metric,
                    "unit": f.unit,
                    "better": match f.better { Better::Lower => "lower", Better::Higher => "higher" },
                    "ovs": f.ovs,
                    "rovn": f.rovn,
                    "ratio": f.ratio(),
                    "target": target,
                    "target_kind": kind,
                    "met": f.met(),
                    "scale": scale,
                })
                .to_string()
            })
            .collect()
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "(too small to tell)",
    }
}

/// Three significant digits or so, without exponents for everyday sizes.
fn number(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 {
        format!("{x:.3}")
    } else {
        format!("{x:.5}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_point_the_same_way() {
        let cost = Figure::new("cpu", "s", Better::Lower, 3.0, 1.0).target(Target::Ratio(3.0));
        assert_eq!(cost.ratio(), 3.0);
        assert_eq!(cost.met(), Some(true));
        let rate =
            Figure::new("tput", "txn/s", Better::Higher, 100.0, 250.0).target(Target::Ratio(3.0));
        assert_eq!(rate.ratio(), 2.5);
        assert_eq!(rate.met(), Some(false));
        let own =
            Figure::new("saving", "x", Better::Higher, 1.0, 25.0).target(Target::RovnAtLeast(20.0));
        assert_eq!(own.met(), Some(true));
    }
}
