//! Test support: database servers (rovsdb-server, or Debian's ovsdb-server
//! with the same command line) in private directories, stopped by pid when
//! dropped; a proxy that can cut connections; bounded waits.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ovsdb_client::core::Config;
use ovsdb_client::reconnect::Timing;
use ovsdb_client::{Client, Remote};
use sandbox::process::{Daemon, DaemonSpec, Unixctl};
use sandbox::{Component, Impl, Programs};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// Every test finishes within this, or fails saying so.
pub const TEST_LIMIT: Duration = Duration::from_secs(90);
/// A single wait inside a test.
pub const WAIT: Duration = Duration::from_secs(20);

/// Runs a test body with a deadline.
pub async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(TEST_LIMIT, body).await.expect("test did not finish in time");
}

/// Runs a test body for `imp` with a deadline that starts once the server
/// program is ready (building ours may wait for other cargo runs).
pub async fn bounded_with<F: Future<Output = ()>>(imp: Impl, body: F) {
    server_program(imp);
    bounded(body).await
}

/// Awaits `f`, failing the test after [`WAIT`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// The server program for `imp`; ours is built with cargo on first use
/// (cargo builds only the binaries of the package under test).
pub fn server_program(imp: Impl) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Programs::cargo_built(&workspace).path(Component::DbServer, imp).expect("database server program")
}

pub fn schema_text(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(file);
    std::fs::read_to_string(&path).expect("read schema")
}

/// Creates `DIR/NAME.db` holding an empty database with Open vSwitch's tool.
pub fn create_db(dir: &Path, name: &str, schema: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let schema_path = dir.join(format!("{name}.ovsschema"));
    std::fs::write(&schema_path, schema).expect("write schema");
    let db = dir.join(format!("{name}.db"));
    let mut cmd = std::process::Command::new(sandbox::tool::debian_program("ovsdb-tool").expect("ovsdb-tool"));
    cmd.arg("create").arg(&db).arg(&schema_path);
    sandbox::tool::run(&mut cmd, Duration::from_secs(20)).expect("ovsdb-tool create");
    db
}

/// A database server process serving `dbs` on `DIR/db.sock`.
pub struct Server {
    pub imp: Impl,
    pub dir: PathBuf,
    dbs: Vec<PathBuf>,
    /// Listening remotes beyond `punix:DIR/db.sock`.
    extra_remotes: Vec<String>,
    daemon: Option<Daemon>,
}

impl Server {
    pub fn start(imp: Impl, dir: &Path, dbs: &[PathBuf]) -> Server {
        Server::start_with(imp, dir, dbs, &[])
    }

    /// Also listening on `extra_remotes` (`ptcp:PORT:IP`...).
    pub fn start_with(imp: Impl, dir: &Path, dbs: &[PathBuf], extra_remotes: &[String]) -> Server {
        let mut server =
            Server { imp, dir: dir.to_path_buf(), dbs: dbs.to_vec(), extra_remotes: extra_remotes.to_vec(), daemon: None };
        server.restart();
        server
    }

    pub fn sock(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    pub fn remote(&self) -> Remote {
        Remote::Unix(self.sock())
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(self.sock());
        let mut args = vec![format!("--remote=punix:{}", self.sock().display()).into()];
        args.extend(self.extra_remotes.iter().map(|r| format!("--remote={r}").into()));
        args.extend(self.dbs.iter().map(|d| d.clone().into_os_string()));
        let spec = DaemonSpec {
            name: "ovsdb-server".into(),
            program: server_program(self.imp),
            dir: self.dir.clone(),
            stem: "ovsdb-server".into(),
            args,
            unixctl: Unixctl::Explicit,
        };
        let mut daemon = Daemon::spawn(spec).expect("start database server");
        let sock = self.sock();
        sandbox::tool::wait_until("the database server to listen", WAIT, || {
            daemon.check_running()?;
            Ok(std::os::unix::net::UnixStream::connect(&sock).ok())
        })
        .expect("database server listens");
        self.daemon = Some(daemon);
    }

    /// `ovs-appctl -t` this server.
    pub fn appctl(&self, args: &[&str]) -> String {
        let ctl = self.dir.join("ovsdb-server.ctl");
        sandbox::tool::appctl(&ctl, args, Duration::from_secs(10)).expect("ovs-appctl")
    }

    /// SIGTERM, as an operator's restart would.
    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop();
        }
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.kill();
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// Short waits, so reconnections happen quickly.
pub fn fast_timing() -> Timing {
    Timing {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        probe_interval: Some(Duration::from_secs(5)),
        connect_timeout: Duration::from_secs(2),
    }
}

/// A client of `database` on `remotes`, in the given order.
pub fn config(database: &str, remotes: Vec<Remote>) -> Config {
    let mut c = Config::new(database, remotes).timing(fast_timing());
    c.shuffle_remotes = false;
    c
}

pub async fn connected(config: Config) -> Client {
    let client = Client::start(config);
    within("the client to connect", client.wait_connected()).await.expect("client runs");
    client
}

/// A Unix-socket proxy to a server whose connections the test can cut.
pub struct Proxy {
    pub sock: PathBuf,
    state: Arc<Mutex<ProxyState>>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct ProxyState {
    /// While set, new connections are closed at once.
    refusing: bool,
    pipes: Vec<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(sock: PathBuf, upstream: PathBuf) -> Proxy {
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).expect("bind proxy");
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let st = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut st = st.lock().unwrap();
                if st.refusing {
                    continue;
                }
                let upstream = upstream.clone();
                st.pipes.push(tokio::spawn(async move {
                    let Ok(mut server) = UnixStream::connect(&upstream).await else { return };
                    let mut client = client;
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }));
            }
        });
        Proxy { sock, state, accept }
    }

    pub fn remote(&self) -> Remote {
        Remote::Unix(self.sock.clone())
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        let mut st = self.state.lock().unwrap();
        st.refusing = true;
        for p in st.pipes.drain(..) {
            p.abort();
        }
    }

    pub fn restore(&self) {
        self.state.lock().unwrap().refusing = false;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Both implementations, for tests that run against each.
#[macro_export]
macro_rules! against_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn ours() {
                $crate::common::bounded_with(sandbox::Impl::Ours, super::$name(sandbox::Impl::Ours)).await
            }
            #[tokio::test]
            async fn debian() {
                $crate::common::bounded_with(sandbox::Impl::Debian, super::$name(sandbox::Impl::Debian)).await
            }
        }
    )*};
}
