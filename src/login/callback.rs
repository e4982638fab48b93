//! The loopback server the browser comes back to (RFC 8252), and the stale-login handshake on
//! the default ports.
//!
//! Any local process (or a web page) can connect to it, so it must stay answerable whatever
//! they do. The rules, all enforced here:
//! - hyper serves every connection in a task of its own, so no client waits for another;
//! - a request head must arrive complete within `HEAD_TIMEOUT` and fit in `MAX_HEAD` bytes;
//! - a connection lives at most `CONNECTION_DEADLINE`, except the one that brought the code,
//!   which is answered when the code exchange ends (bounded by the HTTP client's timeouts);
//! - at most `MAX_CONNECTIONS` are open: beyond that, the oldest connection that has not sent a
//!   request yet is closed to make room, so held-open connections never keep the browser out;
//! - `/cancel` (another `codex login` taking over the port) is refused to web pages.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot};

use super::LoginError;
use crate::secret::Secret;

/// The ports registered for the ChatGPT client, in order of preference.
pub const DEFAULT_PORTS: [u16; 2] = [1455, 1457];
/// How long a client may take to send a whole request head, counted from its first byte read.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest any connection stays open (but the one that brought the code).
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(30);
/// Request line and headers together; a browser's with a long callback URL is a few KiB.
pub const MAX_HEAD: usize = 32 * 1024;
const MAX_HEADERS: usize = 64;
/// Open connections at once; more evict the oldest one still waiting for its request.
pub const MAX_CONNECTIONS: usize = 128;
/// How long a final page may take to reach the browser before the sign-in ends anyway.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// What a request to the callback server asks for. Pure: no I/O, so it can be fuzzed and tested.
#[derive(Debug)]
pub enum Route {
    /// Ends the wait; the sign-in decides the page.
    Finish(Finish),
    /// `/auth/callback` with a state that is not ours (an old tab, or a forgery): 400, keep waiting.
    StateMismatch,
    SuccessPage,
    /// `/cancel` sent by a web page (it carries `Origin`, `Referer` or `Sec-Fetch-Site`).
    CancelFromPage,
    NotFound,
    MethodNotAllowed,
}

/// The requests that end the wait for the browser.
#[derive(Debug)]
pub enum Finish {
    /// The code, and the `iss` parameter when the issuer sent one (RFC 9207).
    Code {
        code: Secret<String>,
        iss: Option<String>,
    },
    Denied {
        error: String,
        description: String,
    },
    MissingCode,
    /// Another `codex login` (ours or the reference CLI) takes the port over.
    Cancel,
}

/// Where the ChatGPT sign-in's browser comes back.
pub const CHATGPT_CALLBACK_PATH: &str = "/auth/callback";

/// Routes one request of the ChatGPT sign-in (`route_at` its callback path).
pub fn route(method: &Method, uri: &Uri, headers: &HeaderMap, expected_state: &str) -> Route {
    route_at(method, uri, headers, CHATGPT_CALLBACK_PATH, expected_state)
}

/// Routes one request, the callback being at `callback_path`. The state is checked before
/// anything else in the callback's query, so a request without it can neither deliver a code
/// nor end the sign-in with an error.
pub fn route_at(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    callback_path: &str,
    expected_state: &str,
) -> Route {
    if method != Method::GET {
        return Route::MethodNotAllowed;
    }
    match uri.path() {
        path if path == callback_path => {
            let params: HashMap<String, String> = uri
                .query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default();
            callback(&params, expected_state)
        }
        "/success" => Route::SuccessPage,
        "/cancel" if sent_by_a_page(headers) => Route::CancelFromPage,
        "/cancel" => Route::Finish(Finish::Cancel),
        _ => Route::NotFound,
    }
}

fn callback(params: &HashMap<String, String>, expected_state: &str) -> Route {
    if params.get("state").map(String::as_str) != Some(expected_state) {
        return Route::StateMismatch;
    }
    if let Some(error) = params.get("error") {
        let description = params
            .get("error_description")
            .cloned()
            .unwrap_or_else(|| error.clone());
        return Route::Finish(Finish::Denied {
            error: error.clone(),
            description,
        });
    }
    match params.get("code").filter(|c| !c.is_empty()) {
        Some(code) => Route::Finish(Finish::Code {
            code: Secret::new(code.clone()),
            iss: params.get("iss").cloned(),
        }),
        None => Route::Finish(Finish::MissingCode),
    }
}

/// Browsers add these to requests a page makes (a link, an image, a fetch); other programs,
/// including `codex login` itself and the reference CLI, send none of them. `Sec-Fetch-Site:
/// none` means the user typed the URL, which is theirs to do.
fn sent_by_a_page(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN)
        || headers.contains_key(header::REFERER)
        || headers
            .get_all("sec-fetch-site")
            .iter()
            .any(|v| v.as_bytes() != b"none")
}

/// The answer to a request that ended the wait. `send` hands the page to the connection and
/// waits (briefly) until it is written, so the process does not exit before the browser has it.
pub struct Reply {
    page: oneshot::Sender<Response<Full<Bytes>>>,
    closed: Option<oneshot::Receiver<()>>,
}

impl Reply {
    pub async fn send(self, status: StatusCode, html: String) {
        self.answer(response(status, html)).await;
    }

    /// Sends the browser on to `location` (303): a sign-in that asks again, at once.
    pub async fn redirect(self, location: &str) {
        let mut answer = response(StatusCode::SEE_OTHER, String::new());
        match header::HeaderValue::from_str(location) {
            Ok(value) => {
                answer.headers_mut().insert(header::LOCATION, value);
            }
            // A URL we built is always a valid header; should it not be, the user still has
            // it in the terminal.
            Err(_) => *answer.status_mut() = StatusCode::BAD_REQUEST,
        }
        self.answer(answer).await;
    }

    async fn answer(self, answer: Response<Full<Bytes>>) {
        let _ = self.page.send(answer);
        if let Some(closed) = self.closed {
            let _ = tokio::time::timeout(FLUSH_TIMEOUT, closed).await;
        }
    }
}

struct Event {
    finish: Finish,
    reply: Reply,
}

/// The loopback listener(s) the browser is sent back to, served until dropped.
pub struct CallbackServer {
    pub port: u16,
    events: mpsc::UnboundedReceiver<Event>,
    acceptors: Vec<tokio::task::JoinHandle<()>>,
}

/// What a callback server waits for: the path the browser comes back to, the state it must
/// bring, and the page for a request with another state.
pub struct Expect {
    pub path: String,
    pub state: String,
    pub mismatch_page: String,
}

impl CallbackServer {
    /// The ChatGPT sign-in's server (`start_at` its path and pages).
    pub async fn start(
        choice: Option<u16>,
        expected_state: &str,
    ) -> Result<CallbackServer, LoginError> {
        let expect = Expect {
            path: CHATGPT_CALLBACK_PATH.to_string(),
            state: expected_state.to_string(),
            mismatch_page: page::error(
                "State mismatch: this page does not belong to the sign-in that is waiting. Start over with `codex login`.",
            ),
        };
        CallbackServer::start_at(choice, expect).await
    }

    /// Listens on 127.0.0.1 (and [::1] when it can) and starts serving. `None`: 1455, then
    /// 1457; `Some(0)`: any free port.
    pub async fn start_at(
        choice: Option<u16>,
        expect: Expect,
    ) -> Result<CallbackServer, LoginError> {
        let v4 = match choice {
            Some(port) => TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|e| LoginError::PortUnavailable { port, source: e })?,
            None => bind_default().await?,
        };
        let port = v4.local_addr().map_err(LoginError::Listen)?.port();
        let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await.ok();
        tracing::debug!(port, ipv6 = v6.is_some(), "callback server listening");
        let (tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            expect,
            events: tx,
            slots: Mutex::new(Slots::default()),
        });
        let acceptors = [Some(v4), v6]
            .into_iter()
            .flatten()
            .map(|listener| tokio::spawn(accept_loop(listener, shared.clone())))
            .collect();
        Ok(CallbackServer {
            port,
            events,
            acceptors,
        })
    }

    /// Waits until a request ends the wait. Returns the code and the browser's reply, to be sent
    /// once the code is exchanged; the other endings are answered here.
    pub async fn wait_for_code(&mut self) -> Result<(Secret<String>, Reply), LoginError> {
        let (finish, reply) = self.wait_for_finish().await?;
        match finish {
            Finish::Code { code, iss: _ } => Ok((code, reply)),
            Finish::Denied { error, description } => {
                let text = format!("Sign-in failed: {description}");
                reply
                    .send(StatusCode::BAD_REQUEST, page::error(&text))
                    .await;
                Err(LoginError::Denied { error, description })
            }
            Finish::MissingCode => {
                let text = "The sign-in did not return an authorization code.";
                reply.send(StatusCode::BAD_REQUEST, page::error(text)).await;
                Err(LoginError::MissingCode)
            }
            Finish::Cancel => {
                let html = page::message("Login cancelled", "Another sign-in took over.");
                reply.send(StatusCode::OK, html).await;
                Err(LoginError::CancelledByAnotherLogin)
            }
        }
    }
}

impl CallbackServer {
    /// Waits until a request ends the wait; the caller answers it (for sign-ins with pages of
    /// their own).
    pub async fn wait_for_finish(&mut self) -> Result<(Finish, Reply), LoginError> {
        let Some(Event { finish, reply }) = self.events.recv().await else {
            return Err(LoginError::Listen(std::io::Error::other(
                "the callback server stopped",
            )));
        };
        Ok((finish, reply))
    }
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        for acceptor in &self.acceptors {
            acceptor.abort();
        }
    }
}

/// 1455, else stop a stale login of ours there and retry for about 2 s, else 1457 alike.
async fn bind_default() -> Result<TcpListener, LoginError> {
    for port in DEFAULT_PORTS {
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            return Ok(listener);
        }
        tracing::debug!(port, "port busy; asking a stale login to cancel");
        send_cancel(port).await;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                return Ok(listener);
            }
        }
    }
    Err(LoginError::PortsBusy)
}

/// Asks whatever listens on `port` to stop, as a stale `codex login` would.
async fn send_cancel(port: u16) {
    let attempt = async {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        stream
            .write_all(b"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await?;
        // The answer is only waited for, never used: at most 64 KiB of it is read.
        let mut sink = Vec::new();
        (&mut stream)
            .take(64 << 10)
            .read_to_end(&mut sink)
            .await
            .map(|_| ())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), attempt).await;
}

/// What every connection task shares.
struct Shared {
    expect: Expect,
    events: mpsc::UnboundedSender<Event>,
    slots: Mutex<Slots>,
}

/// The open connections: those still waiting for a request (evictable, oldest first) and the
/// number being answered.
#[derive(Default)]
struct Slots {
    next_id: u64,
    waiting: BTreeMap<u64, Arc<Notify>>,
    answering: usize,
}

impl Shared {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding this lock cannot leave the counts half-updated in a way that
        // matters more than stopping the server would.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a new connection, evicting the oldest waiting one when all are taken. `None`
    /// only when every slot is answering a request (they end within their deadline).
    fn admit(&self) -> Option<(u64, Arc<Notify>)> {
        let mut slots = self.slots();
        if slots.waiting.len() + slots.answering >= MAX_CONNECTIONS {
            let (_, oldest) = slots.waiting.pop_first()?;
            oldest.notify_one();
        }
        let id = slots.next_id;
        slots.next_id += 1;
        let evict = Arc::new(Notify::new());
        slots.waiting.insert(id, evict.clone());
        Some((id, evict))
    }

    /// The connection sent a request head; false if it was evicted meanwhile.
    fn answering(&self, id: u64) -> bool {
        let mut slots = self.slots();
        let was_waiting = slots.waiting.remove(&id).is_some();
        if was_waiting {
            slots.answering += 1;
        }
        was_waiting
    }

    fn release(&self, id: u64, answered: bool) {
        let mut slots = self.slots();
        if answered {
            slots.answering -= 1;
        } else {
            slots.waiting.remove(&id);
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: give the open connections time to end.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match shared.admit() {
            Some((id, evict)) => {
                tokio::spawn(serve(stream, shared.clone(), id, evict));
            }
            None => tracing::debug!("every connection slot is answering; dropped a new one"),
        }
    }
}

/// Per connection: what its one request needs besides the request.
struct Connection {
    shared: Arc<Shared>,
    id: u64,
    answered: AtomicBool,
    /// Set once the request ended the wait: its answer comes when the sign-in says.
    awaits_sign_in: AtomicBool,
    closed: Mutex<Option<oneshot::Receiver<()>>>,
}

async fn serve(stream: TcpStream, shared: Arc<Shared>, id: u64, evict: Arc<Notify>) {
    let (closed_tx, closed_rx) = oneshot::channel::<()>();
    let conn = Arc::new(Connection {
        shared: shared.clone(),
        id,
        answered: AtomicBool::new(false),
        awaits_sign_in: AtomicBool::new(false),
        closed: Mutex::new(Some(closed_rx)),
    });
    let handler = conn.clone();
    let service = hyper::service::service_fn(move |req| handle(req, handler.clone()));
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(2 * MAX_HEAD)
        .max_header_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(http);
    let deadline = tokio::time::sleep(CONNECTION_DEADLINE);
    tokio::pin!(deadline);
    let mut deadline_applies = true;
    loop {
        tokio::select! {
            result = http.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "callback connection ended");
                }
                break;
            }
            _ = evict.notified() => {
                tracing::debug!("closed a connection without a request to make room");
                break;
            }
            _ = &mut deadline, if deadline_applies => {
                if !conn.awaits_sign_in.load(Ordering::SeqCst) {
                    tracing::debug!("closed a connection at its deadline");
                    break;
                }
                deadline_applies = false;
            }
        }
    }
    shared.release(id, conn.answered.load(Ordering::SeqCst));
    drop(closed_tx);
}

async fn handle(
    req: Request<Incoming>,
    conn: Arc<Connection>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !conn.shared.answering(conn.id) {
        return Ok(response(StatusCode::SERVICE_UNAVAILABLE, String::new()));
    }
    conn.answered.store(true, Ordering::SeqCst);
    tracing::debug!(path = req.uri().path(), "callback request");
    let expect = &conn.shared.expect;
    let route = route_at(
        req.method(),
        req.uri(),
        req.headers(),
        &expect.path,
        &expect.state,
    );
    let answer = match route {
        Route::Finish(finish) => {
            conn.awaits_sign_in.store(true, Ordering::SeqCst);
            let (page, answer) = oneshot::channel();
            let closed = conn.closed.lock().unwrap_or_else(|e| e.into_inner()).take();
            let event = Event {
                finish,
                reply: Reply { page, closed },
            };
            // Without a receiver (the sign-in ended meanwhile) the answer below is dropped too.
            let _ = conn.shared.events.send(event);
            match answer.await {
                Ok(response) => response,
                Err(_) => response(
                    StatusCode::CONFLICT,
                    page::message("Sign-in over", "This sign-in has already ended."),
                ),
            }
        }
        Route::StateMismatch => response(StatusCode::BAD_REQUEST, expect.mismatch_page.clone()),
        Route::SuccessPage => response(StatusCode::OK, page::success()),
        Route::CancelFromPage => {
            tracing::debug!("refused /cancel from a web page");
            response(
                StatusCode::FORBIDDEN,
                page::message(
                    "Refused",
                    "A web page cannot cancel a sign-in. The sign-in goes on.",
                ),
            )
        }
        Route::NotFound => response(
            StatusCode::NOT_FOUND,
            page::message("Not found", "Nothing here."),
        ),
        Route::MethodNotAllowed => {
            let mut answer = response(
                StatusCode::METHOD_NOT_ALLOWED,
                page::message("Method not allowed", "Only GET is served here."),
            );
            answer
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET"));
            answer
        }
    };
    Ok(answer)
}

fn response(status: StatusCode, html: String) -> Response<Full<Bytes>> {
    let mut answer = Response::new(Full::new(Bytes::from(html)));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    answer
}

/// Self-contained pages (no external assets) for the browser tab.
pub mod page {
    pub fn success() -> String {
        message(
            "Signed in to Codex",
            "Signed in, you may close this tab and return to your terminal.",
        )
    }

    pub fn error(text: &str) -> String {
        message("Sign-in failed", text)
    }

    pub fn message(title: &str, text: &str) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
             h1{{font-size:1.4rem}}</style></head><body><h1>{t}</h1><p>{x}</p></body></html>",
            t = escape(title),
            x = escape(text)
        )
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str, headers: &[(&str, &str)]) -> Route {
        let uri: Uri = target.parse().unwrap();
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        route(&Method::GET, &uri, &map, "st")
    }

    #[test]
    fn the_state_is_checked_before_the_code_and_the_error() {
        assert!(matches!(
            get("/auth/callback?code=c&state=other", &[]),
            Route::StateMismatch
        ));
        assert!(matches!(
            get("/auth/callback?error=access_denied", &[]),
            Route::StateMismatch
        ));
        match get("/auth/callback?code=c%2B1&state=st", &[]) {
            Route::Finish(Finish::Code { code, .. }) => assert_eq!(code.expose(), "c+1"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            get("/auth/callback?code=&state=st", &[]),
            Route::Finish(Finish::MissingCode)
        ));
        match get("/auth/callback?state=st&error=e", &[]) {
            Route::Finish(Finish::Denied { error, description }) => {
                assert_eq!((error.as_str(), description.as_str()), ("e", "e"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cancel_is_refused_to_web_pages_only() {
        assert!(matches!(get("/cancel", &[]), Route::Finish(Finish::Cancel)));
        assert!(matches!(
            get("/cancel", &[("sec-fetch-site", "none")]),
            Route::Finish(Finish::Cancel)
        ));
        for header in [
            ("origin", "https://evil.example"),
            ("origin", "null"),
            ("referer", "https://evil.example/page"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ] {
            assert!(
                matches!(get("/cancel", &[header]), Route::CancelFromPage),
                "{header:?}"
            );
        }
    }

    #[test]
    fn other_methods_and_paths() {
        let uri: Uri = "/cancel".parse().unwrap();
        assert!(matches!(
            route(&Method::POST, &uri, &HeaderMap::new(), "st"),
            Route::MethodNotAllowed
        ));
        assert!(matches!(get("/favicon.ico", &[]), Route::NotFound));
        assert!(matches!(get("/success", &[]), Route::SuccessPage));
    }
}
