//! `rovsdb-client`: Open vSwitch's `ovsdb-client`, for rovsdb-server and
//! any other OVSDB server. The commands live in
//! [`ovsdb_tools::client`]; this only hands them the command line.

fn main() {
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_else(|| "rovsdb-client".into());
    ovsdb_tools::cli::set_program_name(&argv0);
    ovsdb_tools::cli::init_fatal_signals();
    let args: Vec<String> = args.collect();
    ovsdb_tools::cli::exit_with(ovsdb_tools::client::run(&args))
}
