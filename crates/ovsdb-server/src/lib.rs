//! rovsdb-server: serves OVSDB databases over JSON-RPC.
