//! `rovsdb-tool`: Open vSwitch's `ovsdb-tool` for standalone database
//! files. The commands live in [`ovsdb_tools::tool`]; this only hands them
//! the command line.

fn main() {
    ovsdb_tools::cli::main(ovsdb_tools::tool::run)
}
