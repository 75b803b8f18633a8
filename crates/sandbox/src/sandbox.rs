//! The whole deployment: OVN's databases, northd, a "main" switch standing
//! for the physical network, and simulated hypervisors joined to it.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use tempfile::TempDir;

use crate::db::{self, Schema};
use crate::packet::Mac;
use crate::pcap;
use crate::process::{DaemonSpec, Registry, Unixctl};
use crate::programs::{Component, Impl, Programs};
use crate::switch::Switch;
use crate::tool;

/// The bridge on the main switch that carries traffic between hypervisors.
pub const PHYSICAL_BRIDGE: &str = "br-net";

/// Unix socket paths are limited to 108 bytes; a base directory longer than
/// this leaves no room for the socket names under it.
const MAX_BASE_LEN: usize = 60;

/// A fresh directory in `$TMPDIR`, or in `/tmp` when `$TMPDIR` is too long
/// for socket paths.
pub fn temp_base() -> Result<TempDir> {
    let mut dir = std::env::temp_dir();
    if dir.as_os_str().len() > MAX_BASE_LEN - 20 {
        dir = PathBuf::from("/tmp");
    }
    tempfile::Builder::new()
        .prefix("rovn-sandbox.")
        .tempdir_in(&dir)
        .with_context(|| format!("creating a directory in {}", dir.display()))
}

/// Chooses where the sandbox lives and who plays each part.
#[derive(Clone, Debug)]
pub struct Builder {
    base_dir: Option<PathBuf>,
    programs: Option<Programs>,
    db_server: Impl,
    northd: Impl,
    controller: Impl,
    timeout: Duration,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            base_dir: None,
            programs: None,
            db_server: Impl::Ours,
            northd: Impl::Debian,
            controller: Impl::Debian,
            timeout: Duration::from_secs(20),
        }
    }
}

impl Builder {
    /// Lives in `dir` (created if missing, kept afterwards) instead of a
    /// fresh temporary directory that is removed when the sandbox drops
    /// (unless `ROVN_SANDBOX_KEEP` is set in the environment).
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.base_dir = Some(dir.into());
        self
    }

    /// Where rovn's binaries come from; by default, beside the running
    /// executable.
    pub fn programs(mut self, programs: Programs) -> Builder {
        self.programs = Some(programs);
        self
    }

    /// Who serves every database (OVN's and each switch's).
    pub fn db_server(mut self, imp: Impl) -> Builder {
        self.db_server = imp;
        self
    }

    pub fn northd(mut self, imp: Impl) -> Builder {
        self.northd = imp;
        self
    }

    pub fn controller(mut self, imp: Impl) -> Builder {
        self.controller = imp;
        self
    }

    /// The bound on every single wait (a daemon starting, a command, a
    /// packet arriving).
    pub fn timeout(mut self, timeout: Duration) -> Builder {
        self.timeout = timeout;
        self
    }

    /// Starts the Northbound and Southbound database servers, northd and
    /// the main switch with its bridge `br-net`. Hypervisors come with
    /// [`Sandbox::add_hypervisor`].
    pub fn start(self) -> Result<Sandbox> {
        let (temp, base) = match self.base_dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                (None, dir.canonicalize()?)
            }
            None => {
                let temp = temp_base()?;
                let base = temp.path().to_path_buf();
                // To read the logs of a failed test afterwards.
                if std::env::var_os("ROVN_SANDBOX_KEEP").is_some() {
                    eprintln!("rovn-sandbox: keeping {}", base.display());
                    (None, temp.keep())
                } else {
                    (Some(temp), base)
                }
            }
        };
        ensure!(
            base.as_os_str().len() <= MAX_BASE_LEN,
            "base directory {} is too long for Unix socket paths under it (at most {MAX_BASE_LEN} bytes)",
            base.display()
        );
        let programs = match self.programs {
            Some(p) => p,
            None => Programs::beside_current_exe()?,
        };
        let mut sandbox = Sandbox {
            daemons: Registry::default(),
            main: None,
            hypervisors: Vec::new(),
            db_server: programs.path(Component::DbServer, self.db_server)?,
            controller: programs.path(Component::Controller, self.controller)?,
            timeout: self.timeout,
            base,
            _temp: temp,
        };
        let northd = programs.path(Component::Northd, self.northd)?;
        sandbox.start_central(&northd)?;
        Ok(sandbox)
    }
}

/// A simulated hypervisor: a [`Switch`] with `br-phys` wired to the main
/// switch's `br-net`, `br-int`, and an OVN controller.
#[derive(Clone, Debug)]
pub struct Hypervisor {
    pub switch: Switch,
    pub encap_ip: Ipv4Addr,
    /// `br-phys`'s Ethernet address, which peers put in their tunnel ARP
    /// tables.
    pub mac: String,
}

/// A VM's interface as the sandbox simulates it: dummy interface `iface`
/// on hypervisor `hv`, bound to logical switch port `lsp`.
#[derive(Clone, Debug)]
pub struct Vif {
    pub hv: String,
    pub iface: String,
    pub lsp: String,
    pub mac: Mac,
    pub ip: Ipv4Addr,
}

impl Vif {
    /// VIF number `idx` of a test network: interface `vifIDX`, MAC
    /// 50:54:00:00:00:IDX, IP 10.0.0.IDX.
    pub fn numbered(idx: u8, hv: &str, lsp: &str) -> Vif {
        Vif {
            hv: hv.to_string(),
            iface: format!("vif{idx}"),
            lsp: lsp.to_string(),
            mac: Mac([0x50, 0x54, 0, 0, 0, idx]),
            ip: Ipv4Addr::new(10, 0, 0, idx),
        }
    }

    /// The endpoint of a UDP packet from or to this VIF, for
    /// [`crate::packet::udp`].
    pub fn udp(&self, port: u16) -> (Mac, Ipv4Addr, u16) {
        (self.mac, self.ip, port)
    }
}

/// A running deployment. Every daemon is a child of this process, stopped
/// (by pid) when the sandbox drops.
///
/// Daemons are named, for [`Sandbox::appctl`] and [`Sandbox::daemon_names`]:
/// `nb`, `sb` (database servers), `northd`, `main/db`, `main/vswitchd`, and
/// per hypervisor `HV/db`, `HV/vswitchd`, `HV/controller`.
#[derive(Debug)]
pub struct Sandbox {
    /// Dropped first: daemons stop before their directory goes.
    daemons: Registry,
    main: Option<Switch>,
    hypervisors: Vec<Hypervisor>,
    db_server: PathBuf,
    controller: PathBuf,
    timeout: Duration,
    base: PathBuf,
    _temp: Option<TempDir>,
}

impl Sandbox {
    pub fn builder() -> Builder {
        Builder::default()
    }

    fn start_central(&mut self, northd: &Path) -> Result<()> {
        for (name, schema) in [("nb", Schema::Northbound), ("sb", Schema::Southbound)] {
            let dir = self.base.join(name);
            let file = db::create(&dir, schema, self.timeout)?;
            db::start_server(&mut self.daemons, name, &self.db_server, &dir, &[file], self.timeout)?;
        }
        let spec = DaemonSpec {
            name: "northd".to_string(),
            program: northd.to_path_buf(),
            dir: self.base.join("northd"),
            stem: "ovn-northd".to_string(),
            args: vec![
                format!("--ovnnb-db={}", self.nb_remote()).into(),
                format!("--ovnsb-db={}", self.sb_remote()).into(),
                "-vconsole:off".into(),
            ],
            unixctl: Unixctl::Explicit,
        };
        self.daemons.start(spec)?;
        // northd has caught up with the Northbound database once this
        // returns; it also proves both servers serve it.
        self.nbctl(&["--wait=sb", "sync"]).context("waiting for northd")?;
        let main = Switch::start(&mut self.daemons, &self.db_server, "main", &self.base.join("main"), self.timeout)?;
        main.vsctl(&["add-br", PHYSICAL_BRIDGE])?;
        self.main = Some(main);
        Ok(())
    }

    /// The directory everything lives in.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn nb_remote(&self) -> String {
        format!("unix:{}", db::socket(&self.base.join("nb")).display())
    }

    pub fn sb_remote(&self) -> String {
        format!("unix:{}", db::socket(&self.base.join("sb")).display())
    }

    /// The main switch, whose `br-net` is the physical network.
    pub fn main(&self) -> &Switch {
        self.main.as_ref().expect("started with the sandbox")
    }

    pub fn hypervisors(&self) -> &[Hypervisor] {
        &self.hypervisors
    }

    pub fn hypervisor(&self, name: &str) -> Result<&Hypervisor> {
        self.hypervisors.iter().find(|hv| hv.switch.name == name).with_context(|| format!("no hypervisor {name}"))
    }

    /// A hypervisor's switch, or the main switch for `main`.
    pub fn switch(&self, name: &str) -> Result<&Switch> {
        if name == "main" { Ok(self.main()) } else { Ok(&self.hypervisor(name)?.switch) }
    }

    /// Adds hypervisor `name` whose tunnel endpoint is `encap_ip` (any
    /// documentation address serves: it never leaves the dummy datapaths),
    /// following OVN's simulated-hypervisor layout:
    ///
    /// - on the main switch, port `NAME-phys` on `br-net` listens on a Unix
    ///   socket in the hypervisor's directory; the hypervisor's `br-phys`
    ///   connects to it: that socket is the cable, and what it carries to
    ///   the hypervisor is in `read_pcap("main", "NAME-phys")`;
    /// - `br-phys` holds `encap_ip`, with a route to its /24;
    /// - `br-int` is left to the controller (`fail-mode=secure`, no in-band
    ///   flows), which learns the Southbound database and its own identity
    ///   from `Open_vSwitch` `external_ids`;
    /// - each hypervisor is told the others' `br-phys` addresses, as ARP
    ///   would have.
    ///
    /// Returns once the controller has registered its chassis.
    pub fn add_hypervisor(&mut self, name: &str, encap_ip: Ipv4Addr) -> Result<&Hypervisor> {
        ensure!(
            !["main", "nb", "sb", "northd"].contains(&name) && self.hypervisor(name).is_err(),
            "hypervisor name {name} is taken"
        );
        ensure!(
            (1..=16).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "hypervisor name {name:?}: up to 16 letters, digits, - and _ (it names socket paths)"
        );
        let dir = self.base.join(name);
        let switch = Switch::start(&mut self.daemons, &self.db_server, name, &dir, self.timeout)?;
        let cable = dir.join("phys.sock");
        let phys_port = format!("{name}-phys");
        // Recording what the cable carries towards the hypervisor lets a
        // test see the tunnel packets.
        self.main().add_dummy_port(
            PHYSICAL_BRIDGE,
            &phys_port,
            &[&format!("options:pstream=punix:{}", cable.display())],
        )?;
        switch.vsctl(&[
            "add-br",
            "br-phys",
            "--",
            "add-port",
            "br-phys",
            "phys",
            "--",
            "set",
            "Interface",
            "phys",
            "type=dummy",
            &format!("options:stream=unix:{}", cable.display()),
        ])?;
        let cidr = format!("{encap_ip}/24");
        switch.appctl(&["netdev-dummy/ip4addr", "br-phys", &cidr])?;
        switch.appctl(&["ovs/route/add", &cidr, "br-phys"])?;
        switch.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "Bridge",
            "br-int",
            "fail-mode=secure",
            "other-config:disable-in-band=true",
            "--",
            "set",
            "Open_vSwitch",
            ".",
            &format!("external_ids:system-id={name}"),
            &format!("external_ids:ovn-remote={}", self.sb_remote()),
            "external_ids:ovn-encap-type=geneve",
            &format!("external_ids:ovn-encap-ip={encap_ip}"),
        ])?;
        let mac = tool::wait_until(&format!("{name}'s br-phys to have an Ethernet address"), self.timeout, || {
            let mac = switch.vsctl(&["get", "Interface", "br-phys", "mac_in_use"])?;
            let mac = mac.trim().trim_matches('"');
            Ok((!mac.is_empty()).then(|| mac.to_string()))
        })?;
        for peer in &self.hypervisors {
            switch.appctl(&["tnl/arp/set", "br-phys", &peer.encap_ip.to_string(), &peer.mac])?;
            peer.switch.appctl(&["tnl/arp/set", "br-phys", &encap_ip.to_string(), &mac])?;
        }
        let spec = DaemonSpec {
            name: format!("{name}/controller"),
            program: self.controller.clone(),
            dir: dir.clone(),
            stem: "ovn-controller".to_string(),
            args: vec![switch.db_remote().into(), "-vconsole:off".into()],
            unixctl: Unixctl::Default,
        };
        let controller = self.daemons.start(spec)?;
        let ctl = controller.ctl();
        tool::wait_until(&format!("{name}'s ovn-controller to answer on {}", ctl.display()), self.timeout, || {
            controller.check_running()?;
            Ok(UnixStream::connect(&ctl).ok())
        })?;
        self.sbctl(&["wait-until", "Chassis", name])
            .with_context(|| format!("waiting for {name}'s chassis in the Southbound database"))?;
        self.hypervisors.push(Hypervisor { switch, encap_ip, mac });
        Ok(self.hypervisors.last().unwrap())
    }

    /// Creates logical switch `name` with one port per VIF; see
    /// [`Sandbox::add_logical_ports`].
    pub fn add_logical_switch(&self, name: &str, vifs: &[Vif]) -> Result<()> {
        self.nbctl(&["ls-add", name])?;
        self.add_logical_ports(name, vifs)
    }

    /// Adds one port per VIF (addresses `MAC IP`) to logical switch
    /// `switch`, plugs each VIF in on its hypervisor, and returns once every
    /// port is up and every controller has caught up
    /// (`ovn-nbctl --wait=hv sync`).
    pub fn add_logical_ports(&self, switch: &str, vifs: &[Vif]) -> Result<()> {
        let mut args = Vec::new();
        for vif in vifs {
            args.extend(["--", "lsp-add", switch, &vif.lsp].map(String::from));
            args.extend(["--", "lsp-set-addresses", &vif.lsp, &format!("{} {}", vif.mac, vif.ip)].map(String::from));
        }
        self.nbctl(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        for vif in vifs {
            self.add_vif(&vif.hv, &vif.iface, &vif.lsp)?;
        }
        for vif in vifs {
            self.wait_port_up(&vif.lsp)?;
        }
        self.nbctl(&["--wait=hv", "sync"])?;
        Ok(())
    }

    /// Adds a VIF: dummy interface `iface` on `hv`'s `br-int`, bound to
    /// logical switch port `lsp`, recording its packets (see
    /// [`Sandbox::read_pcap`]). Does not wait for the binding; see
    /// [`Sandbox::wait_port_up`].
    pub fn add_vif(&self, hv: &str, iface: &str, lsp: &str) -> Result<()> {
        let iface_id = format!("external_ids:iface-id={lsp}");
        self.hypervisor(hv)?.switch.add_dummy_port("br-int", iface, &[&iface_id])
    }

    /// Waits until the controller has bound `lsp` and northd marked it up.
    pub fn wait_port_up(&self, lsp: &str) -> Result<()> {
        self.nbctl(&["wait-until", "Logical_Switch_Port", lsp, "up=true"])
            .with_context(|| format!("waiting for logical port {lsp} to be up"))?;
        Ok(())
    }

    /// `ovn-nbctl ARGS` on the Northbound database.
    pub fn nbctl(&self, args: &[&str]) -> Result<String> {
        tool::ctl("ovn-nbctl", &self.nb_remote(), args, self.timeout)
    }

    /// `ovn-sbctl ARGS` on the Southbound database.
    pub fn sbctl(&self, args: &[&str]) -> Result<String> {
        tool::ctl("ovn-sbctl", &self.sb_remote(), args, self.timeout)
    }

    /// `ovs-vsctl ARGS` on hypervisor `hv`'s database (`main` for the main
    /// switch).
    pub fn vsctl(&self, hv: &str, args: &[&str]) -> Result<String> {
        self.switch(hv)?.vsctl(args)
    }

    /// The unixctl socket of the daemon named `target` (see [`Sandbox`]).
    pub fn ctl(&self, target: &str) -> Result<PathBuf> {
        Ok(self.daemons.get(target)?.ctl())
    }

    /// `ovs-appctl -t CTL ARGS` for the daemon named `target`.
    pub fn appctl(&self, target: &str, args: &[&str]) -> Result<String> {
        tool::appctl(&self.ctl(target)?, args, self.timeout).with_context(|| format!("appctl to {target}"))
    }

    /// Hands `packet` to `hv`'s interface `port` as if it came from the
    /// wire.
    pub fn inject(&self, hv: &str, port: &str, packet: &[u8]) -> Result<()> {
        self.switch(hv)?.appctl(&["netdev-dummy/receive", port, &crate::packet::hex(packet)])?;
        Ok(())
    }

    /// The packets `hv`'s interface `port` has sent so far.
    pub fn read_pcap(&self, hv: &str, port: &str) -> Result<Vec<Vec<u8>>> {
        pcap::read_file(&self.switch(hv)?.tx_pcap(port))
    }

    /// Waits until `hv`'s interface `port` has sent `packet`.
    pub fn wait_for_packet(&self, hv: &str, port: &str, packet: &[u8]) -> Result<()> {
        let what = format!("{hv}'s {port} to send {}", crate::packet::describe(packet));
        tool::wait_until(&what, self.timeout, || {
            Ok(self.read_pcap(hv, port)?.iter().any(|p| p == packet).then_some(()))
        })
        .with_context(|| {
            let seen = self.read_pcap(hv, port).unwrap_or_default();
            let seen: Vec<String> = seen.iter().map(|p| crate::packet::describe(p)).collect();
            format!("{port} sent instead: [{}]", seen.join("; "))
        })
    }

    /// Kills database server `name` (`nb`, `sb`, `HV/db`) as a crash would
    /// and starts it again on the same files and socket; its clients are
    /// left to reconnect by themselves.
    pub fn restart_db_server(&mut self, name: &str) -> Result<()> {
        ensure!(name == "nb" || name == "sb" || name.ends_with("/db"), "{name} is not a database server");
        db::restart_server(&mut self.daemons, name, self.timeout)?;
        Ok(())
    }

    /// Sends a UDP packet carrying `payload` from VIF `from` to VIF `to`
    /// (ports 1234 and 5678) and waits until `to` has received it; returns
    /// the frame.
    pub fn send_udp(&self, from: &Vif, to: &Vif, payload: &[u8]) -> Result<Vec<u8>> {
        let frame = crate::packet::udp(from.udp(1234), to.udp(5678), payload);
        self.inject(&from.hv, &from.iface, &frame)?;
        self.wait_for_packet(&to.hv, &to.iface, &frame)?;
        Ok(frame)
    }

    /// Names of the daemons, in start order.
    pub fn daemon_names(&self) -> Vec<String> {
        self.daemons.iter().map(|d| d.name().to_string()).collect()
    }

    /// The registry, e.g. to read a daemon's log path or pid.
    pub fn daemons(&self) -> &Registry {
        &self.daemons
    }

    /// An error naming every daemon that has exited, with its last output.
    pub fn check_running(&mut self) -> Result<()> {
        self.daemons.check_running()
    }

    /// Writes `BASE/env`, a shell file to source: the OVN CLIs then reach
    /// this sandbox's databases, and Open vSwitch's tools reach the first
    /// hypervisor; `on HV COMMAND...` runs a command against another
    /// hypervisor (or `main`).
    pub fn write_env_file(&self) -> Result<PathBuf> {
        let mut text = String::from("# Source this file to use the sandbox's databases and daemons.\n");
        let _ = writeln!(text, "export OVN_NB_DB={}", self.nb_remote());
        let _ = writeln!(text, "export OVN_SB_DB={}", self.sb_remote());
        if let Some(first) = self.hypervisors.first() {
            for var in ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR"] {
                let _ = writeln!(text, "export {var}={}", first.switch.dir.display());
            }
        }
        let _ = writeln!(
            text,
            "# on HV CMD...: run CMD (ovs-vsctl, ovs-appctl -t ovs-vswitchd, ovn-appctl -t ovn-controller) on HV\n\
             on() {{ d={}/$1; shift; OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVN_RUNDIR=$d OVN_LOGDIR=$d OVN_DBDIR=$d \"$@\"; }}",
            self.base.display()
        );
        let path = self.base.join("env");
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Stops every daemon now, newest first (dropping the sandbox does the
    /// same).
    pub fn stop(&mut self) {
        self.daemons.stop_all();
    }
}
