//! `rovsdb-client`: Open vSwitch's `ovsdb-client`, for rovsdb-server and
//! any other OVSDB server. The commands live in
//! [`ovsdb_tools::client`]; this only hands them the command line.

fn main() {
    ovsdb_tools::cli::main(ovsdb_tools::client::run)
}
