//! `dialer serve` as a separate process, for tests that use the console as an admin would.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running `dialer serve`, killed when dropped. Its stderr (the logs) is collected.
pub struct Serve {
    child: Child,
    pub url: String,
    /// The lines it printed on stdout at start.
    pub banner: Vec<String>,
    logs: Arc<Mutex<Vec<u8>>>,
    /// What it printed on stdout after the banner.
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    output_reader: Option<std::thread::JoinHandle<()>>,
}

impl Serve {
    /// Starts `dialer serve --listen 127.0.0.1:0 ARGS` with `env`, and waits for its address.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dialer"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(super::root())
            .env_remove("DIALER_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("dialer serve starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = Vec::new();
        let mut url = None;
        let expect = if args.contains(&"--demo") { 2 } else { 1 };
        while banner.len()
            < expect + usize::from(!env.iter().any(|(k, _)| *k == "DIALER_ADMIN_TOKEN"))
        {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(rest) = line.trim().strip_prefix("console listening on ") {
                url = Some(rest.to_string());
            }
            banner.push(line.trim().to_string());
        }
        let url = url.unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "dialer serve did not print its address: {banner:?}; logs: {}",
                String::from_utf8_lossy(&logs.lock().unwrap())
            )
        });
        // Keep reading stdout so the server never blocks on a full pipe.
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        let output_reader = std::thread::spawn(move || {
            let mut rest = Vec::new();
            let _ = stdout.read_to_end(&mut rest);
            sink.lock().unwrap().extend_from_slice(&rest);
        });
        Serve {
            child,
            url,
            banner,
            logs,
            output,
            reader: Some(reader),
            output_reader: Some(output_reader),
        }
    }

    /// Stops the server (SIGTERM, then kill) and returns everything it logged.
    pub fn stop(mut self) -> String {
        self.terminate();
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// Stops the server and returns all it printed: stdout (the banner included), then stderr.
    pub fn stop_with_output(mut self) -> (Vec<u8>, Vec<u8>) {
        self.terminate();
        let mut stdout = self.banner.join("\n").into_bytes();
        stdout.push(b'\n');
        stdout.extend_from_slice(&self.output.lock().unwrap());
        (stdout, self.logs.lock().unwrap().clone())
    }

    /// Kills the server at once (SIGKILL), as a crash or an out-of-memory kill would: it
    /// gets no chance to clean up. Returns everything it logged.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_readers();
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    fn join_readers(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        if let Some(reader) = self.output_reader.take() {
            let _ = reader.join();
        }
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            for _ in 0..50 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_readers();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.terminate();
    }
}
