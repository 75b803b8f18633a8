//! A simulated Open vSwitch machine: its own database server holding an
//! Open_vSwitch database, and Debian's `ovs-vswitchd` with the dummy
//! datapath on it.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::db::{self, Schema};
use crate::process::{DaemonSpec, Registry, Unixctl};
use crate::tool;

/// One ovs-vswitchd and its database, in directory `dir`. The daemons are
/// in the registry as `NAME/db` and `NAME/vswitchd`.
#[derive(Clone, Debug)]
pub struct Switch {
    pub name: String,
    pub dir: PathBuf,
    vswitchd_ctl: PathBuf,
    timeout: Duration,
}

impl Switch {
    /// Creates the database, starts `db_server` on it and then
    /// ovs-vswitchd, and waits until the switch answers on its unixctl
    /// socket.
    pub fn start(
        registry: &mut Registry,
        db_server: &Path,
        name: &str,
        dir: &Path,
        timeout: Duration,
    ) -> Result<Switch> {
        let conf = db::create(dir, Schema::OpenVswitch, timeout)?;
        db::start_server(registry, &format!("{name}/db"), db_server, dir, &[conf], timeout)?;
        let db_remote = format!("unix:{}", db::socket(dir).display());
        // ovs-vswitchd wants the Open_vSwitch row to exist.
        tool::ctl("ovs-vsctl", &db_remote, &["--no-wait", "init"], timeout)?;
        let spec = DaemonSpec {
            name: format!("{name}/vswitchd"),
            program: tool::debian_program("ovs-vswitchd")?,
            dir: dir.to_path_buf(),
            stem: "ovs-vswitchd".to_string(),
            args: [
                db_remote.as_str(),
                // `=system`, not `=override`: with override, tunnel ports
                // become dummies too and Geneve stops working.
                "--enable-dummy=system",
                // Neither the kernel datapath nor the host's routes: the
                // sandbox's addresses live only inside the dummy datapaths.
                "--disable-system",
                "--disable-system-route",
                "-vconsole:off",
                "-vvconn:info",
            ]
            .map(Into::into)
            .to_vec(),
            // Its default name, so `ovs-appctl -t ovs-vswitchd` finds it
            // with OVS_RUNDIR set to `dir`.
            unixctl: Unixctl::Default,
        };
        let vswitchd = registry.start(spec)?;
        let vswitchd_ctl = vswitchd.ctl();
        tool::wait_until(&format!("{name}'s ovs-vswitchd to answer on {}", vswitchd_ctl.display()), timeout, || {
            vswitchd.check_running()?;
            Ok(UnixStream::connect(&vswitchd_ctl).ok())
        })?;
        Ok(Switch { name: name.to_string(), dir: dir.to_path_buf(), vswitchd_ctl, timeout })
    }

    /// `unix:PATH` of the switch's database.
    pub fn db_remote(&self) -> String {
        format!("unix:{}", db::socket(&self.dir).display())
    }

    /// ovs-vswitchd's unixctl socket.
    pub fn vswitchd_ctl(&self) -> &Path {
        &self.vswitchd_ctl
    }

    /// `ovs-vsctl ARGS` on this switch's database. Like ovs-vsctl itself,
    /// waits for ovs-vswitchd to apply a change unless told `--no-wait`.
    pub fn vsctl(&self, args: &[&str]) -> Result<String> {
        tool::ctl("ovs-vsctl", &self.db_remote(), args, self.timeout).with_context(|| format!("on {}", self.name))
    }

    /// `ovs-appctl -t ovs-vswitchd ARGS` for this switch.
    pub fn appctl(&self, args: &[&str]) -> Result<String> {
        tool::appctl(&self.vswitchd_ctl, args, self.timeout).with_context(|| format!("on {}", self.name))
    }

    /// Adds a dummy interface `iface` to `bridge`, recording what it sends
    /// in `DIR/IFACE-tx.pcap` and what it receives in `DIR/IFACE-rx.pcap`,
    /// with `extra` appended to the `ovs-vsctl` command (e.g. more columns
    /// to set after `--`).
    pub fn add_dummy_port(&self, bridge: &str, iface: &str, extra: &[&str]) -> Result<()> {
        let tx = format!("options:tx_pcap={}", self.tx_pcap(iface).display());
        let rx = format!("options:rxq_pcap={}", self.dir.join(format!("{iface}-rx.pcap")).display());
        let mut args = vec!["add-port", bridge, iface, "--", "set", "Interface", iface, "type=dummy", &tx, &rx];
        args.extend_from_slice(extra);
        self.vsctl(&args)?;
        Ok(())
    }

    /// Where the dummy interface `iface` records the packets it sends.
    pub fn tx_pcap(&self, iface: &str) -> PathBuf {
        self.dir.join(format!("{iface}-tx.pcap"))
    }
}
