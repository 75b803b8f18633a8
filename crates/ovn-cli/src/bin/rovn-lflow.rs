//! `rovn-lflow`: parse, normalise and check OVN logical flows.
//!
//! ```text
//! rovn-lflow parse-match [--address-set NAME=V,V...] [--port-group NAME=P,P...] EXPR
//! rovn-lflow parse-actions ACTIONS
//! rovn-lflow check --file DUMP     (DUMP: ovsdb-client dump -f json SERVER OVN_Southbound)
//! rovn-lflow check --db REMOTE     (a live Southbound database, e.g. unix:/run/ovn/ovnsb_db.sock)
//! ```

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ovn_lflow::normalize::{self, SetEnv};
use ovn_lflow::sb::{self, Southbound};
use ovn_lflow::symtab::SymbolTable;
use ovn_lflow::{actions, expr};

const USAGE: &str = "usage:
  rovn-lflow parse-match [--address-set NAME=V,V...] [--port-group NAME=P,P...] EXPR
      print the canonical form and the normal form (one clause per line)
  rovn-lflow parse-actions ACTIONS
      print the canonical form of ACTIONS
  rovn-lflow check --file DUMP | --db REMOTE [--timeout=SECS]
      parse, type-check, normalise and round-trip every Logical_Flow of a
      Southbound database: DUMP is the output of
      `ovsdb-client dump -f json SERVER OVN_Southbound`; REMOTE a live server
      (unix:PATH, tcp:IP:PORT, or a comma-separated list), waited for up to
      SECS seconds (default 30)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rovn-lflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode> {
    let table = SymbolTable::ovn();
    let Some((cmd, rest)) = args.split_first() else {
        bail!("missing command\n{USAGE}");
    };
    match cmd.as_str() {
        "parse-match" => {
            let mut env = SetEnv::default();
            let mut input = None;
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--address-set" | "--port-group" => {
                        let spec = it.next().with_context(|| format!("{a} needs NAME=VALUES"))?;
                        let (name, vals) = spec.split_once('=').with_context(|| format!("{a} {spec}: expecting NAME=VALUES"))?;
                        let vals = vals.split(',').filter(|v| !v.is_empty());
                        if a == "--address-set" {
                            let parsed = vals.map(|v| sb::parse_address(v).with_context(|| format!("{v}: not an address"))).collect::<Result<_>>()?;
                            env.address_sets.insert(name.to_string(), parsed);
                        } else {
                            env.port_groups.insert(name.to_string(), vals.map(String::from).collect());
                        }
                    }
                    _ if input.is_none() => input = Some(a.as_str()),
                    _ => bail!("unexpected argument {a}\n{USAGE}"),
                }
            }
            let input = input.with_context(|| format!("missing EXPR\n{USAGE}"))?;
            let e = match expr::parse_with(input, table) {
                Ok(e) => e,
                Err(err) => bail!("{}", err.render(input)),
            };
            let n = normalize::normalize(&e, table, &env)?;
            println!("{}", n.display(table));
            Ok(ExitCode::SUCCESS)
        }
        "parse-actions" => {
            let [input] = rest else { bail!("expecting one ACTIONS argument\n{USAGE}") };
            match actions::parse_with(input, table) {
                Ok(a) => println!("{}", actions::display(&a, table)),
                Err(err) => bail!("{}", err.render(input)),
            }
            Ok(ExitCode::SUCCESS)
        }
        "check" => {
            let sb = match rest {
                [flag, path] if flag == "--file" => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
                    Southbound::from_dump(&text).with_context(|| format!("reading {path}"))?
                }
                [flag, remote, more @ ..] if flag == "--db" => {
                    let secs = match more {
                        [] => 30,
                        [t] => t
                            .strip_prefix("--timeout=")
                            .and_then(|v| v.parse::<u64>().ok())
                            .with_context(|| format!("bad argument {t}\n{USAGE}"))?,
                        _ => bail!("too many arguments\n{USAGE}"),
                    };
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    runtime.block_on(ovn_cli::southbound::read(remote, std::time::Duration::from_secs(secs)))?
                }
                _ => bail!("expecting --file DUMP or --db REMOTE\n{USAGE}"),
            };
            let report = sb::check(table, &sb);
            for a in &sb.bad_addresses {
                println!("bad address set member {a}");
            }
            for f in &report.failures {
                println!("{} ({} table {} priority {}) {:?}: {}", f.flow.uuid, f.flow.pipeline, f.flow.table_id, f.flow.priority, f.stage, f.message);
            }
            println!("{} flows checked, {} failures, {} OpenFlow flows in normal forms", report.n_flows, report.failures.len(), report.n_of_flows);
            Ok(if report.failures.is_empty() && sb.bad_addresses.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("unknown command {cmd}\n{USAGE}"),
    }
}
