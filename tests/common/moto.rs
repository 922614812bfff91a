//! A real AWS API emulator for the tests: moto in server mode, one process
//! per test harness on a free loopback port, stopped by process id when
//! dropped. `scripts/test.sh` installs it (`pip install 'moto[server]'`).

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chatbot_operator::data::AwsClients;

/// Region every test uses.
pub const REGION: &str = "eu-west-1";

pub struct Moto {
    pub address: SocketAddr,
    child: Child,
}

impl Moto {
    /// Starts moto and waits until it accepts connections.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server on PATH: install it with `pip install 'moto[server]'` (scripts/test.sh does)");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {address}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { address, child }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Clients that talk to this moto.
    pub fn clients(&self) -> AwsClients {
        clients_for(&self.url())
    }
}

/// Clients for an emulator (or a proxy in front of one) at `url`.
pub fn clients_for(url: &str) -> AwsClients {
    AwsClients::for_endpoint(url, REGION, "testing", "testing")
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
