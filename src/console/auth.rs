//! The console's authentication: one admin token, sent as `Authorization: Bearer <token>` or
//! exchanged at the login form for a session cookie (HttpOnly, SameSite=Strict); and CSRF
//! protection for changes made with that cookie.
//!
//! A request is let in if it carries the right Bearer token (browsers never add one by
//! themselves, so such requests need no CSRF token), or a live session cookie. A
//! state-changing request (anything but GET, HEAD and OPTIONS) made with the cookie must also
//! carry the session's CSRF token in `X-CSRF-Token`, and an `Origin` header, if present, must
//! name this server. Secrets are compared in constant time and never logged: [`Secret`] prints
//! as `***`, and session ids and CSRF tokens appear only in headers.
//!
//! Decisions are pure functions of the request's headers ([`check`]); the session table is the
//! only state. The HTTP layer is in [`super::api`].

use crate::portaswitch::client::Secret;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dialer_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sessions end after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// At most this many sessions live at once; the oldest go first.
const MAX_SESSIONS: usize = 1000;
/// The shortest admin token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// Random bytes as lowercase hex, from the operating system.
pub fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Compares without stopping at the first difference.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token and no session: 401.
    NotLoggedIn,
    /// A Bearer token that is not the admin token: 401.
    WrongToken,
    /// A change made with the session cookie without the session's CSRF token: 403.
    Csrf,
    /// A change made with the session cookie from another origin: 403.
    Origin,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::NotLoggedIn | Refusal::WrongToken => 401,
            Refusal::Csrf | Refusal::Origin => 403,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::NotLoggedIn => "log in, or send the admin token as a Bearer header",
            Refusal::WrongToken => "wrong admin token",
            Refusal::Csrf => "missing or wrong CSRF token (send the X-CSRF-Token header)",
            Refusal::Origin => "the request comes from another origin",
        }
    }
}

/// Who a request is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The admin token, as a Bearer header.
    Bearer,
    /// A logged-in browser.
    Session { id: String, csrf: String },
}

/// The parts of a request that decide whether it is let in.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestAuth<'a> {
    /// The method is GET, HEAD or OPTIONS.
    pub safe_method: bool,
    pub authorization: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub csrf: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub host: Option<&'a str>,
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"'))
    })
}

/// True if `origin` (like `http://127.0.0.1:8080`) names the server reached as `host`.
pub fn same_origin(origin: &str, host: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|rest| rest.trim_end_matches('/').eq_ignore_ascii_case(host))
}

/// The session table.
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

struct Session {
    csrf: String,
    last_seen: Instant,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(SESSION_IDLE)
    }
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            live: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// Opens a session: `(session id, CSRF token)`.
    pub fn open(&self) -> Result<(String, String), getrandom::Error> {
        let (id, csrf) = (random_hex(32)?, random_hex(32)?);
        let now = Instant::now();
        if let Ok(mut live) = self.live.lock() {
            live.retain(|_, session| now.duration_since(session.last_seen) < self.idle);
            if live.len() >= MAX_SESSIONS
                && let Some(oldest) = live
                    .iter()
                    .min_by_key(|(_, session)| session.last_seen)
                    .map(|(id, _)| id.clone())
            {
                live.remove(&oldest);
            }
            live.insert(
                id.clone(),
                Session {
                    csrf: csrf.clone(),
                    last_seen: now,
                },
            );
        }
        Ok((id, csrf))
    }

    /// The CSRF token of a live session, touching it.
    pub fn touch(&self, id: &str) -> Option<String> {
        let now = Instant::now();
        let mut live = self.live.lock().ok()?;
        let session = live.get_mut(id)?;
        if now.duration_since(session.last_seen) >= self.idle {
            live.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.csrf.clone())
    }

    pub fn close(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(id);
        }
    }

    pub fn len(&self) -> usize {
        self.live.lock().map_or(0, |live| live.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Decides whether a request is let in. See the module docs for the rules.
pub fn check(
    request: &RequestAuth<'_>,
    token: &Secret,
    sessions: &Sessions,
) -> Result<Caller, Refusal> {
    if let Some(header) = request.authorization {
        let given = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(Refusal::WrongToken)?;
        return if same_secret(given, token.expose()) {
            Ok(Caller::Bearer)
        } else {
            Err(Refusal::WrongToken)
        };
    }
    let id = request
        .cookie
        .and_then(|header| cookie_value(header, SESSION_COOKIE))
        .filter(|id| !id.is_empty())
        .ok_or(Refusal::NotLoggedIn)?;
    let csrf = sessions.touch(id).ok_or(Refusal::NotLoggedIn)?;
    if !request.safe_method {
        if let (Some(origin), Some(host)) = (request.origin, request.host)
            && !same_origin(origin, host)
        {
            return Err(Refusal::Origin);
        }
        match request.csrf {
            Some(given) if same_secret(given, &csrf) => {}
            _ => return Err(Refusal::Csrf),
        }
    }
    Ok(Caller::Session {
        id: id.to_string(),
        csrf,
    })
}

/// The `Set-Cookie` value that opens a session.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_IDLE.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session.
pub fn expired_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Where the admin token comes from.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the admin token file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the admin token must be at least {MIN_TOKEN_LEN} characters without spaces")]
    TooShort,
    #[error("cannot draw a random admin token: {0}")]
    Random(String),
}

/// The admin token: from `file`, else the environment variable `env_name`, else a new random
/// one (`generated` is then true, and the caller shows it once to whoever started the server).
pub fn load_token(
    file: Option<&std::path::Path>,
    env_value: Option<String>,
) -> Result<(Secret, bool), TokenError> {
    let given = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|source| TokenError::File {
                    path: path.display().to_string(),
                    source,
                })?
                .trim()
                .to_string(),
        ),
        None => env_value.map(|text| text.trim().to_string()),
    };
    match given {
        Some(text) if text.len() >= MIN_TOKEN_LEN && !text.contains(char::is_whitespace) => {
            Ok((Secret::new(text), false))
        }
        Some(_) => Err(TokenError::TooShort),
        None => random_hex(24)
            .map(|text| (Secret::new(text), true))
            .map_err(|error| TokenError::Random(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "admin-token-0123456789";

    fn token() -> Secret {
        Secret::new(TOKEN)
    }

    #[test]
    fn bearer_tokens_are_checked_whole() {
        let sessions = Sessions::default();
        let with = |header: &'static str| RequestAuth {
            authorization: Some(header),
            ..RequestAuth::default()
        };
        let good = format!("Bearer {TOKEN}");
        let good: &'static str = Box::leak(good.into_boxed_str());
        assert_eq!(check(&with(good), &token(), &sessions), Ok(Caller::Bearer));
        for bad in [
            "Bearer admin-token-012345678",
            "Bearer admin-token-01234567890",
            "Bearer ",
            "Basic YWRtaW4=",
            TOKEN,
        ] {
            assert_eq!(
                check(&with(bad), &token(), &sessions),
                Err(Refusal::WrongToken),
                "{bad}"
            );
        }
        assert_eq!(
            check(&RequestAuth::default(), &token(), &sessions),
            Err(Refusal::NotLoggedIn)
        );
    }

    #[test]
    fn a_bearer_change_needs_no_csrf_token() {
        let sessions = Sessions::default();
        let header = format!("Bearer {TOKEN}");
        let request = RequestAuth {
            safe_method: false,
            authorization: Some(&header),
            ..RequestAuth::default()
        };
        assert_eq!(check(&request, &token(), &sessions), Ok(Caller::Bearer));
    }

    #[test]
    fn cookie_changes_need_the_sessions_csrf_token_and_origin() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.open().expect("random");
        let (other_id, other_csrf) = sessions.open().expect("random");
        let cookie = format!("theme=dark; {SESSION_COOKIE}={id}");
        let read = RequestAuth {
            safe_method: true,
            cookie: Some(&cookie),
            ..RequestAuth::default()
        };
        assert!(matches!(
            check(&read, &token(), &sessions),
            Ok(Caller::Session { .. })
        ));
        let change = RequestAuth {
            safe_method: false,
            ..read
        };
        assert_eq!(check(&change, &token(), &sessions), Err(Refusal::Csrf));
        let wrong = RequestAuth {
            csrf: Some(&other_csrf),
            ..change
        };
        assert_eq!(check(&wrong, &token(), &sessions), Err(Refusal::Csrf));
        let right = RequestAuth {
            csrf: Some(&csrf),
            origin: Some("http://127.0.0.1:8080"),
            host: Some("127.0.0.1:8080"),
            ..change
        };
        assert!(check(&right, &token(), &sessions).is_ok());
        let cross = RequestAuth {
            origin: Some("http://evil.example"),
            ..right
        };
        assert_eq!(check(&cross, &token(), &sessions), Err(Refusal::Origin));
        sessions.close(&id);
        assert_eq!(
            check(&right, &token(), &sessions),
            Err(Refusal::NotLoggedIn)
        );
        assert!(sessions.touch(&other_id).is_some());
    }

    #[test]
    fn unknown_and_expired_sessions_are_not_logged_in() {
        let sessions = Sessions::new(Duration::ZERO);
        let (id, _) = sessions.open().expect("random");
        assert_eq!(sessions.touch(&id), None);
        let cookie = format!("{SESSION_COOKIE}=nonsense");
        let request = RequestAuth {
            safe_method: true,
            cookie: Some(&cookie),
            ..RequestAuth::default()
        };
        assert_eq!(
            check(&request, &token(), &Sessions::default()),
            Err(Refusal::NotLoggedIn)
        );
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let cookie = session_cookie("abc", false);
        assert!(cookie.starts_with("dialer_session=abc;"));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(session_cookie("abc", true).ends_with("; Secure"));
        assert!(expired_cookie(false).contains("Max-Age=0"));
        assert_eq!(cookie_value("a=1; b = 2 ;c=3", "b"), Some("2"));
        assert_eq!(cookie_value("a=1", "b"), None);
    }

    #[test]
    fn tokens_come_from_a_file_the_environment_or_chance() {
        let (from_env, generated) = load_token(None, Some(format!(" {TOKEN}\n"))).expect("token");
        assert_eq!((from_env.expose(), generated), (TOKEN, false));
        assert!(matches!(
            load_token(None, Some("short".into())),
            Err(TokenError::TooShort)
        ));
        let (random, generated) = load_token(None, None).expect("token");
        assert!(generated && random.expose().len() == 48);
        assert_ne!(
            random.expose(),
            load_token(None, None).expect("token").0.expose()
        );
        assert!(same_origin(
            "https://Console.example:8443/",
            "console.example:8443"
        ));
        assert!(!same_origin("null", "console.example"));
    }
}
