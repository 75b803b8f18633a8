//! `rovsdb-tool`: Open vSwitch's `ovsdb-tool` for standalone database
//! files. The commands live in [`ovsdb_tools::tool`]; this only hands them
//! the command line.

fn main() {
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_else(|| "rovsdb-tool".into());
    ovsdb_tools::cli::set_program_name(&argv0);
    ovsdb_tools::cli::init_fatal_signals();
    let args: Vec<String> = args.collect();
    ovsdb_tools::cli::exit_with(ovsdb_tools::tool::run(&args))
}
