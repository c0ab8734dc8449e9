//! A throw-away PostgreSQL cluster for tests: `initdb` in a temporary folder, the server on
//! 127.0.0.1 at a free port (run as the `postgres` user when the tests run as root: the server
//! refuses to run as root), stopped and deleted when the test process ends, even when it is
//! killed (a watchdog process waits for it). Debian's `postgresql` package provides the
//! programs (`scripts/install-deps.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct PgCluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
}

/// The newest installed server's programs: `/usr/lib/postgresql/<N>/bin`.
fn server_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server not installed (run scripts/install-deps.sh)")
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("no /usr/lib/postgresql/<N>/bin/initdb (run scripts/install-deps.sh)")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgCluster {
    /// One cluster shared by every test of this test binary.
    pub fn shared() -> &'static PgCluster {
        static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
        CLUSTER.get_or_init(PgCluster::start)
    }

    /// A command run as the server's user.
    fn as_server_user(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    pub fn start() -> PgCluster {
        let bin = server_bin();
        let root = std::env::temp_dir().join(format!(
            "framekit-pg-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&root).expect("cluster folder");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        let cluster = PgCluster {
            bin,
            root,
            port: free_port(),
        };
        let out = cluster
            .as_server_user("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.watchdog();
        cluster.start_server();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Stops the server and deletes the folder once this test process is gone. The watchdog
    /// outlives this process by design, so it is never waited for.
    #[allow(clippy::zombie_processes)]
    fn watchdog(&self) {
        let runner = if is_root() {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runner}'{ctl}' -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{root}'",
            pid = std::process::id(),
            ctl = self.bin.join("pg_ctl").display(),
            data = self.data().display(),
            root = self.root.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cluster's watchdog");
    }

    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            self.port,
            self.root.display()
        );
        let out = self
            .as_server_user("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
        );
    }

    pub fn stop_server(&self) {
        let out = self
            .as_server_user("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A fresh, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        // CREATE DATABASE copies template1 and fails while another copy is under way.
        static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        let name = format!(
            "t{}_{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(&name)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
