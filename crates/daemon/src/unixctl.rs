//! The control socket `ovs-appctl -t SOCKET COMMAND ARGS...` talks to:
//! JSON-RPC requests whose method is the command and whose params are
//! strings; the reply's result (or error) is text.
//!
//! The socket task validates commands against what the daemon registered
//! and hands each one to the daemon's main loop as a [`Command`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ovsdb::rpc::{Framer, Message};
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A command the daemon accepts: name, argument counts, usage text.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub usage: &'static str,
    pub min_args: usize,
    pub max_args: usize,
}

pub const fn command(name: &'static str, usage: &'static str, min_args: usize, max_args: usize) -> CommandSpec {
    CommandSpec { name, usage, min_args, max_args }
}

/// Commands every daemon has; the daemon answers them (`vlog/*` with
/// [`crate::log::Logger`]).
pub const COMMON_COMMANDS: &[CommandSpec] = &[
    command("exit", "", 0, 1),
    command("version", "", 0, 0),
    command("vlog/set", "{spec | PATTERN:destination:pattern}", 0, usize::MAX),
    command("vlog/list", "", 0, 0),
    command("vlog/reopen", "", 0, 0),
    command("memory/show", "", 0, 0),
];

/// One command for the daemon to carry out; send the answer on `reply`.
pub struct Command {
    pub name: String,
    pub args: Vec<String>,
    pub reply: oneshot::Sender<Result<String, String>>,
}

/// Removes the socket file when dropped.
pub struct UnixctlServer {
    path: PathBuf,
}

impl Drop for UnixctlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl UnixctlServer {
    /// Binds `path` and serves it on the current tokio runtime.
    pub fn start(path: &Path, specs: Vec<CommandSpec>) -> std::io::Result<(UnixctlServer, mpsc::UnboundedReceiver<Command>)> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let specs: Arc<BTreeMap<&'static str, CommandSpec>> = Arc::new(specs.into_iter().map(|s| (s.name, s)).collect());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&specs), tx.clone()));
            }
        });
        Ok((UnixctlServer { path: path.to_path_buf() }, rx))
    }
}

async fn serve(mut stream: UnixStream, specs: Arc<BTreeMap<&'static str, CommandSpec>>, tx: mpsc::UnboundedSender<Command>) {
    let mut framer = Framer::new(1 << 20);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        loop {
            let json = match framer.next() {
                Ok(Some(j)) => j,
                Ok(None) => break,
                Err(_) => return,
            };
            let Ok(Message::Request { method, params, id }) = Message::from_json(json) else { return };
            let answer = run(&specs, &tx, method, params).await;
            let msg = match answer {
                Ok(text) => Message::Reply { result: Json::String(text), id },
                Err(text) => Message::Error { error: Json::String(text), id },
            };
            if stream.write_all(&msg.to_bytes()).await.is_err() {
                return;
            }
        }
    }
}

async fn run(
    specs: &BTreeMap<&'static str, CommandSpec>,
    tx: &mpsc::UnboundedSender<Command>,
    method: String,
    params: Vec<Json>,
) -> Result<String, String> {
    let args: Vec<String> = params
        .into_iter()
        .map(|p| match p {
            Json::String(s) => Ok(s),
            _ => Err("command arguments must be strings".to_string()),
        })
        .collect::<Result<_, _>>()?;
    if method == "list-commands" {
        let mut out = String::from("The available commands are:\n");
        for spec in specs.values() {
            out += &format!("  {:<24}{}\n", spec.name, spec.usage);
        }
        return Ok(out);
    }
    let Some(spec) = specs.get(method.as_str()) else {
        return Err(format!("\"{method}\" is not a valid command (use \"list-commands\" to see a list of valid commands)"));
    };
    if args.len() < spec.min_args {
        return Err(format!("\"{method}\" command requires at least {} arguments", spec.min_args));
    }
    if args.len() > spec.max_args {
        return Err(format!("\"{method}\" command takes at most {} arguments", spec.max_args));
    }
    let (reply, answer) = oneshot::channel();
    tx.send(Command { name: method, args, reply }).map_err(|_| "daemon is shutting down".to_string())?;
    answer.await.unwrap_or_else(|_| Err("daemon is shutting down".into()))
}
