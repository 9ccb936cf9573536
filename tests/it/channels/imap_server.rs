//! A real IMAP server for the inbox tests: Debian's dovecot (`dovecot-imapd`, installed by
//! scripts/test.sh), run as an unprivileged process on a loopback port with its own config,
//! passwd-file and maildirs in a temporary folder, speaking TLS with a certificate of a test CA
//! made here with the `openssl` command (trusted by the client through `EMAIL_CA_FILE`).
//! When the tests run as root, dovecot runs as `nobody` (setpriv), and the folder is its.
//! examples/inbox_bench.rs uses this file too.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A running dovecot with one maildir per user.
pub struct ImapServer {
    pub port: u16,
    dir: tempfile::TempDir,
    /// Owner of the files dovecot reads: (uid, gid).
    owner: Option<(u32, u32)>,
    child: std::process::Child,
}

static DELIVERED: AtomicU64 = AtomicU64::new(0);

/// A port nothing listens on (bound, then released). This file is also the benchmark's
/// (examples/inbox_bench.rs), so it stands alone.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn dovecot() -> PathBuf {
    for p in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("dovecot is not installed: apt-get install -y dovecot-imapd (scripts/test.sh does)");
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A test CA and a server certificate for 127.0.0.1 and localhost, signed by it.
fn make_certificates(dir: &Path) {
    let d = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &d("ca.key"),
        "-out",
        &d("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=support-agent test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &d("server.key"),
        "-out",
        &d("server.csr"),
        "-subj",
        "/CN=localhost",
    ]));
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
    )
    .expect("ext.cnf");
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &d("server.csr"),
        "-CA",
        &d("ca.crt"),
        "-CAkey",
        &d("ca.key"),
        "-CAcreateserial",
        "-out",
        &d("server.crt"),
        "-days",
        "2",
        "-extfile",
        &d("ext.cnf"),
    ]));
}

impl ImapServer {
    /// Starts dovecot with these (user, password) accounts.
    pub async fn start(users: &[(&str, &str)]) -> Self {
        let users: Vec<(String, String)> = users
            .iter()
            .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
            .collect();
        tokio::task::spawn_blocking(move || Self::start_blocking(&users))
            .await
            .expect("join")
    }

    fn start_blocking(users: &[(String, String)]) -> Self {
        let dovecot = dovecot();
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        make_certificates(root);
        let is_root = output("id", &["-u"]) == "0";
        let (user, group, uid, gid) = if is_root {
            ("nobody".to_owned(), "nogroup".to_owned(), 65534, 65534)
        } else {
            (
                output("id", &["-un"]),
                output("id", &["-gn"]),
                output("id", &["-u"]).parse().expect("uid"),
                output("id", &["-g"]).parse().expect("gid"),
            )
        };
        let mut passwd = String::new();
        for (name, password) in users {
            passwd.push_str(&format!(
                "{name}:{{PLAIN}}{password}:{uid}:{gid}::{}\n",
                root.join("home").join(name).display()
            ));
            for sub in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(root.join("mail").join(name).join(sub)).expect("maildir");
            }
        }
        std::fs::write(root.join("passwd"), passwd).expect("passwd");
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(root.join(sub)).expect("dir");
        }
        let port = free_port();
        let r = root.display();
        let config = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n\
             default_internal_user = {user}\ndefault_internal_group = {group}\n\
             default_login_user = {user}\nfirst_valid_uid = 1\nmail_fsync = never\n\
             ssl = required\nssl_cert = <{r}/server.crt\nssl_key = <{r}/server.key\n\
             ssl_min_protocol = TLSv1.2\nauth_mechanisms = plain login\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {r}/passwd\n}}\n\
             mail_location = maildir:{r}/mail/%u\n\
             protocol imap {{\n  mail_max_userip_connections = 50\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  \
             inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n  }}\n  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\nservice auth {{\n  chroot =\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("config");
        let owner = is_root.then_some((uid, gid));
        if let Some((uid, gid)) = owner {
            chown_tree(root, uid, gid);
        }
        let conf = root.join("dovecot.conf");
        let mut cmd = if is_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(&dovecot);
            c
        } else {
            Command::new(&dovecot)
        };
        let child = cmd
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let server = Self {
            port,
            dir,
            owner,
            child,
        };
        for _ in 0..300 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "dovecot did not listen on {port}: {}",
            std::fs::read_to_string(server.dir.path().join("dovecot.log")).unwrap_or_default()
        );
    }

    /// `imaps://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("imaps://127.0.0.1:{}", self.port)
    }

    /// The PEM file of the test CA (for `EMAIL_CA_FILE`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// Delivers a raw mail into `user`'s INBOX, as a local delivery agent does: written under
    /// tmp/, then moved into new/.
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        let n = DELIVERED.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}.M{n}P{}.satest",
            chrono::Utc::now().timestamp(),
            std::process::id()
        );
        let maildir = self.dir.path().join("mail").join(user);
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, raw).expect("write mail");
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).expect("chown");
        }
        std::fs::rename(&tmp, maildir.join("new").join(&name)).expect("deliver");
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("dir") {
            chown_tree(&e.expect("entry").path(), uid, gid);
        }
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        // TERM lets the master stop its children; KILL if it does not.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..40 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
