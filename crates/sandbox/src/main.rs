//! `rovn-sandbox`: starts an OVN deployment whose databases are served by
//! rovsdb-server, sends a packet across a logical switch, shows how to
//! reach everything, and stays up until Ctrl-C (or stops at once with
//! `--exit`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use sandbox::packet;
use sandbox::{Impl, Programs, Sandbox, Vif};

const USAGE: &str = "\
usage: rovn-sandbox [OPTIONS]
Starts OVN on this machine with its databases on rovsdb-server, sends a
packet between two ports of a logical switch, and stays up until Ctrl-C.

  --exit                 do the demonstration and stop; exit status 0 only
                         if the packet arrived
  --hypervisors N        simulated hypervisors (default 1); with 2 or more
                         the packet crosses a Geneve tunnel from hv1 to hvN
  --base-dir DIR         keep everything in DIR (default: a temporary
                         directory, removed at exit)
  --keep                 keep the temporary directory at exit
  --db-server ours|debian  who serves the databases (default ours)
  --northd ours|debian     (default debian)
  --controller ours|debian (default debian)
  --timeout SECS         bound on each wait (default 20)
  -h, --help
";

struct Options {
    exit: bool,
    hypervisors: usize,
    base_dir: Option<PathBuf>,
    keep: bool,
    db_server: Impl,
    northd: Impl,
    controller: Impl,
    timeout: Duration,
}

fn parse_options() -> Result<Option<Options>> {
    let mut opts = Options {
        exit: false,
        hypervisors: 1,
        base_dir: None,
        keep: false,
        db_server: Impl::Ours,
        northd: Impl::Debian,
        controller: Impl::Debian,
        timeout: Duration::from_secs(20),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // Both `--opt value` and `--opt=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).with_context(|| format!("{name} needs a value"));
        let imp = |v: String| match v.as_str() {
            "ours" => Ok(Impl::Ours),
            "debian" => Ok(Impl::Debian),
            _ => bail!("{name}: expected ours or debian, not {v}"),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--exit" => opts.exit = true,
            "--keep" => opts.keep = true,
            "--hypervisors" => {
                opts.hypervisors = value()?.parse().context("--hypervisors")?;
                if !(1..=200).contains(&opts.hypervisors) {
                    bail!("--hypervisors: between 1 and 200");
                }
            }
            "--base-dir" => opts.base_dir = Some(value()?.into()),
            "--db-server" => opts.db_server = imp(value()?)?,
            "--northd" => opts.northd = imp(value()?)?,
            "--controller" => opts.controller = imp(value()?)?,
            "--timeout" => opts.timeout = Duration::from_secs(value()?.parse().context("--timeout")?),
            _ => bail!("unknown option {arg}"),
        }
    }
    Ok(Some(opts))
}

/// Set by SIGINT/SIGTERM; the main loop polls it.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    let opts = match parse_options() {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("rovn-sandbox: {e:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    match run(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rovn-sandbox: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(true) when the packet arrived.
fn run(opts: &Options) -> Result<bool> {
    let mut builder = Sandbox::builder()
        .programs(Programs::beside_current_exe()?)
        .db_server(opts.db_server)
        .northd(opts.northd)
        .controller(opts.controller)
        .timeout(opts.timeout);
    if let Some(dir) = &opts.base_dir {
        builder = builder.base_dir(dir);
    } else if opts.keep {
        let dir = sandbox::sandbox::temp_base()?.keep();
        builder = builder.base_dir(dir);
    }
    let started = Instant::now();
    step("starting the Northbound and Southbound database servers, ovn-northd and the main switch");
    let mut sandbox = builder.start()?;
    println!("      in {}", sandbox.base_dir().display());
    for idx in 1..=opts.hypervisors {
        let name = format!("hv{idx}");
        let ip = Ipv4Addr::new(192, 0, 2, idx as u8);
        step(&format!("starting hypervisor {name} (tunnel endpoint {ip}): database, ovs-vswitchd, ovn-controller"));
        sandbox.add_hypervisor(&name, ip)?;
        if STOP.load(Ordering::SeqCst) {
            return Ok(false);
        }
    }
    let arrived = match demo(&sandbox, opts.hypervisors) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("rovn-sandbox: the demonstration failed: {e:#}");
            false
        }
    };
    println!("(ready in {:.1} s)", started.elapsed().as_secs_f64());
    show_access(&sandbox)?;
    if opts.exit {
        step("stopping (--exit); --keep or --base-dir keeps the directory");
        return Ok(arrived);
    }
    println!("\nThe sandbox stays up; press Ctrl-C to stop it.");
    let mut reported = false;
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        if reported {
            continue;
        }
        if let Err(e) = sandbox.check_running() {
            eprintln!("rovn-sandbox: a daemon stopped:\n{e:#}");
            reported = true;
        }
    }
    step("stopping every daemon");
    sandbox.stop();
    Ok(arrived)
}

fn step(what: &str) {
    println!("==> {what}");
}

/// A logical switch with a port on hv1 and one on the last hypervisor, and
/// a UDP packet from the first to the second.
fn demo(sandbox: &Sandbox, n_hypervisors: usize) -> Result<()> {
    let last = format!("hv{n_hypervisors}");
    let (a, b) = (Vif::numbered(1, "hv1", "sw0-port1"), Vif::numbered(2, &last, "sw0-port2"));
    step(&format!("logical switch sw0: port sw0-port1 (vif1 on hv1), port sw0-port2 (vif2 on {last})"));
    step("ovn-nbctl --wait=hv sync, once both ports are up");
    let t = Instant::now();
    sandbox.add_logical_switch("sw0", &[a.clone(), b.clone()])?;
    println!("      done in {} ms", t.elapsed().as_millis());
    step("sending a UDP packet into hv1's vif1, from 10.0.0.1 to 10.0.0.2");
    let frame = sandbox.send_udp(&a, &b, b"hello from rovn-sandbox")?;
    step(&format!("arrived at {last}'s vif2: {}", packet::describe(&frame)));
    for row in frame.chunks(16) {
        println!("      {}", row.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "));
    }
    let pcap = sandbox.switch(&last)?.tx_pcap("vif2");
    println!("      (ovs-pcap {} prints what vif2 sent)", pcap.display());
    Ok(())
}

fn show_access(sandbox: &Sandbox) -> Result<()> {
    let env = sandbox.write_env_file()?;
    println!("\nReach the sandbox with the usual tools:");
    println!("  ovn-nbctl --db={} show", sandbox.nb_remote());
    println!("  ovn-sbctl --db={} show", sandbox.sb_remote());
    println!("  ovs-appctl -t {} status   # ovn-northd", sandbox.ctl("northd")?.display());
    for name in std::iter::once("main".to_string()).chain(sandbox.hypervisors().iter().map(|hv| hv.switch.name.clone()))
    {
        let switch = sandbox.switch(&name)?;
        println!("  {name}:");
        println!("    ovs-vsctl --db={} show", switch.db_remote());
        println!("    ovs-appctl -t {} dpif/show", switch.vswitchd_ctl().display());
        if name != "main" {
            println!("    ovs-appctl -t {} connection-status", sandbox.ctl(&format!("{name}/controller"))?.display());
        }
    }
    println!("  ovs-appctl -t {} ovsdb-server/list-dbs   # the Northbound server", sandbox.ctl("nb")?.display());
    println!("  logs: {}/*/*.log", sandbox.base_dir().display());
    println!("\nOr source the environment file:");
    println!("  . {}", env.display());
    println!("  ovn-nbctl show; ovn-sbctl show; ovs-vsctl show   # the first hypervisor");
    println!("  on main ovs-vsctl show; on hv1 ovs-ofctl dump-flows br-int");
    Ok(())
}
