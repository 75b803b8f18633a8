//! What every rovn daemon shares with the Open vSwitch daemon it replaces,
//! so scripts and operators can swap binaries without noticing:
//!
//! - [`options`]: `getopt_long`-style command lines (`--pidfile[=FILE]`,
//!   `--remote=X` repeated, `--detach`, `--log-file`, `--unixctl`, `-v`).
//! - [`log`]: log lines in Open vSwitch's format
//!   (`2026-01-01T00:00:00.000Z|00001|module|INFO|text`), to a file and the
//!   console, with levels changed at run time (`vlog/set`).
//! - [`process`]: `--detach` (fork, wait until the child is ready), pidfiles,
//!   run directories.
//! - [`unixctl`]: the control socket that `ovs-appctl -t` talks to.

pub mod log;
pub mod options;
pub mod process;
pub mod unixctl;
