//! Issue 12: the sign-in's callback server against hostile local clients. Connections held open
//! (idle, or sending a byte a second) must not delay the browser's callback, and a web page must
//! not be able to cancel a sign-in. All on free ports (`--port 0`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{
    Background, Env, Peer, agent_ok, oidc_browser_json_args, split_response, start_browser_login,
};
use serde_json::Value;

/// `codex login --json --no-browser --port 0` against oidc-provider; returns the login, its
/// authorize URL and its callback port.
fn oidc_login(env: &Env, oidc: &Peer) -> (Background, String, u16) {
    let (login, event) = start_browser_login(env.cmd(&oidc_browser_json_args(oidc)));
    let port = event["port"].as_u64().unwrap() as u16;
    (login, event["url"].as_str().unwrap().to_string(), port)
}

/// The callback URL oidc-provider sends the browser to, not yet requested.
fn callback_url(authorize: &str) -> String {
    let out = agent_ok(&["authorize", authorize, "--print-callback"]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Sends `request` as is and reads the whole answer: (status, body). Status 0: no answer
/// within `wait`.
fn raw_http(port: u16, request: &[u8], wait: Duration) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(wait)).unwrap();
    // The server may answer (431) and close before it has read everything.
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let (status, _, body) = split_response(&raw);
    (status, body)
}

fn get(port: u16, target: &str, headers: &str) -> (u16, String) {
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Connection: close\r\n\r\n"
    );
    raw_http(port, request.as_bytes(), Duration::from_secs(20))
}

/// Connections that never send a byte.
fn idle_connections(port: u16, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect()
}

/// Connections that send the start of a request, one byte a second, until dropped.
struct Trickle {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<TcpStream>>>,
}

impl Trickle {
    fn start(port: u16, n: usize) -> Trickle {
        let mut streams: Vec<TcpStream> = (0..n)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let text = b"GET /auth/callback?state=guess&code=guess HTTP/1.1\r\nHost: 127.0.0.1\r\n";
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                for s in &mut streams {
                    let _ = s.write_all(&text[i % text.len()..][..1]);
                }
                i += 1;
                for _ in 0..10 {
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            streams
        });
        Trickle {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Vec<TcpStream> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Trickle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn held_open_connections_do_not_delay_the_callback() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    let (login, authorize, port) = oidc_login(&env, &oidc);
    let callback = callback_url(&authorize);
    let target = callback
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .expect("callback on our port")
        .to_string();

    let idle = idle_connections(port, 200);
    let slow = Trickle::start(port, 200);
    // Let the server accept them all and the slow ones send a few bytes.
    std::thread::sleep(Duration::from_millis(2500));

    let started = Instant::now();
    let (status, body) = get(port, &target, "");
    let took = started.elapsed();
    assert_eq!(status, 200, "after {took:?}: {body}");
    assert!(body.contains("Signed in, you may close this tab"), "{body}");
    assert!(
        took < Duration::from_secs(1),
        "the callback took {took:?} with 400 connections held open"
    );
    let run = login.finish(30);
    assert_eq!(run.code, 0, "{run:?}");
    let event: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(event["event"], "logged_in");
    assert_eq!(event["email"], "alice@example.com");
    drop(idle);
    slow.stop();
}

/// Every connection is closed within the head timeout (10 s) plus slack, however many there are:
/// none lives on by trickling bytes, and none waits for another to end first.
#[test]
fn idle_and_slow_connections_are_closed_within_their_deadline() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    let (login, _, port) = oidc_login(&env, &oidc);
    let started = Instant::now();
    let mut held = idle_connections(port, 100);
    let slow = Trickle::start(port, 100);
    // Trickle on past the head timeout, to see that each byte does not restart it.
    std::thread::sleep(Duration::from_secs(11));
    held.extend(slow.stop());
    for (i, mut s) in held.into_iter().enumerate() {
        let left = Duration::from_secs(15).saturating_sub(started.elapsed());
        s.set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        let mut sink = Vec::new();
        let ended = match s.read_to_end(&mut sink) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(
            ended,
            "connection {i} still open after {:?}",
            started.elapsed()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    // The sign-in is still waiting and answers.
    let (status, _) = get(port, "/success", "");
    assert_eq!(status, 200);
    drop(login);
}

#[test]
fn a_web_page_cannot_cancel_the_sign_in() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    let (login, authorize, port) = oidc_login(&env, &oidc);
    for header in [
        "Origin: https://attacker.example\r\n",
        "Origin: null\r\n",
        "Referer: https://attacker.example/page.html\r\n",
        "Sec-Fetch-Site: cross-site\r\n",
        "Sec-Fetch-Site: same-site\r\nSec-Fetch-Mode: no-cors\r\n",
    ] {
        let (status, body) = get(port, "/cancel", header);
        assert_eq!(status, 403, "{header}: {body}");
        assert!(
            body.contains("A web page cannot cancel a sign-in."),
            "{body}"
        );
    }
    // An oversized request head is refused without ending anything either.
    let huge = format!(
        "GET /cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let (status, _) = raw_http(port, huge.as_bytes(), Duration::from_secs(20));
    assert_eq!(status, 431, "request header fields too large");

    agent_ok(&["authorize", &authorize]);
    let run = login.finish(30);
    assert_eq!(run.code, 0, "the sign-in went on: {run:?}");
    let event: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(event["event"], "logged_in");
}

#[test]
fn another_login_can_still_cancel() {
    let env = Env::new();
    let oidc = Peer::oidc(env.dir.path(), &[]);
    for headers in ["", "Sec-Fetch-Site: none\r\n"] {
        let (login, _, port) = oidc_login(&env, &oidc);
        // What `codex login` and the reference CLI send to a stale login's port.
        let (status, body) = get(port, "/cancel", headers);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Another sign-in took over."), "{body}");
        let run = login.finish(30);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.ends_with("Login cancelled: another `codex login` took over the callback port. Your previous credentials were kept.\n"),
            "{run:?}"
        );
    }
}
