//! Contract tests of what the PortaSwitch client sends: path, envelope, auth header and
//! parameters, captured by a real HTTP server on loopback (no mocked client code), and how it
//! reads answers: faults become typed errors, a session fault leads to one new login and a
//! replay.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use dialer::domain::PhoneNumber;
use dialer::portaswitch::client::{
    ClientSettings, Credentials, LoginSecret, PortaError, Secret, SiteClient,
};
use dialer::portaswitch::wire::{self, ApiNames};
use dialer::time::SimDuration;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Captured {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<Captured>>,
    /// Session faults still to answer on the list method.
    list_session_faults: Mutex<u32>,
}

async fn capture(
    request: HttpRequest,
    body: web::Bytes,
    recorder: web::Data<Recorder>,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = request.path().to_string();
    recorder.requests.lock().unwrap().push(Captured {
        path: path.clone(),
        authorization: header("Authorization"),
        content_type: header("Content-Type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let logins = recorder
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.path == "/rest/Session/login")
        .count();
    match path.as_str() {
        "/rest/Session/login" => HttpResponse::Ok().json(json!({
            "access_token": format!("AT{logins}"),
            "refresh_token": "RT",
            "expires_at": "2099-01-01 00:00:00",
            "session_id": "S",
        })),
        "/rest/CallControl/originate_advanced_call" => HttpResponse::Ok()
            .json(json!({"call": {"id": "c-1", "tag": "t-1"}, "tracking_id": "trk-1"})),
        "/rest/CallControl/get_sip_calls_list" => {
            let mut faults = recorder.list_session_faults.lock().unwrap();
            if *faults > 0 {
                *faults -= 1;
                return HttpResponse::InternalServerError().json(json!({
                    "faultcode": "Server.Session.check_auth.auth_failed",
                    "faultstring": "token expired",
                }));
            }
            HttpResponse::Ok().json(json!({"calls_list": [
                {"call": {"id": "c-1", "tag": "t-1"}, "state": "queued"},
                {"call": {"id": "c-2", "tag": "t-2"}, "state": "parked"},
            ]}))
        }
        "/rest/CallControl/fails" => HttpResponse::InternalServerError().json(json!({
            "faultcode": "Server.CallControl.originate_failed",
            "faultstring": "no route",
        })),
        "/rest/CallControl/teapot" => HttpResponse::ImATeapot().finish(),
        _ => HttpResponse::Ok().json(json!({"success": 1, "operating_mode": "normal"})),
    }
}

/// A capturing server on its own thread.
struct CaptureServer {
    url: String,
    recorder: web::Data<Recorder>,
    system: actix::System,
}

impl CaptureServer {
    fn start() -> CaptureServer {
        let recorder = web::Data::new(Recorder::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = recorder.clone();
        std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(shared.clone())
                        .default_service(web::to(capture))
                })
                .workers(1)
                .disable_signals()
                .bind("127.0.0.1:0")
                .unwrap();
                let address = server.addrs()[0];
                actix_rt::spawn(server.run());
                tx.send((address, actix::System::current())).unwrap();
            });
            system.run().unwrap();
        });
        let (address, system) = rx.recv().unwrap();
        CaptureServer {
            url: format!("http://{address}"),
            recorder,
            system,
        }
    }

    fn requests(&self) -> Vec<Captured> {
        self.recorder.requests.lock().unwrap().clone()
    }
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        self.system.stop();
    }
}

fn client(url: &str, secret: LoginSecret) -> SiteClient {
    let names = ApiNames::default();
    SiteClient::new(
        "main",
        url,
        Credentials {
            login: "dialer".into(),
            secret,
        },
        ClientSettings {
            timeout: Duration::from_secs(5),
            ..ClientSettings::default()
        },
    )
    .unwrap()
    .after_login(
        names.list.subscribe_method.clone(),
        wire::customer_params(&names.list, 7, false),
    )
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn login_subscription_and_originate_have_the_documented_shape() {
    let server = CaptureServer::start();
    let client = client(&server.url, LoginSecret::Password(Secret::new("pw-1")));
    let names = ApiNames::default();
    let params = wire::originate_params(
        &names.originate,
        &PhoneNumber("+15551230001".into()),
        "aa-100",
        "http://dialer.example/portaswitch/events/s3cret",
        SimDuration::from_secs(25),
    );
    let reply = block_on(client.call(&names.originate.method, params)).unwrap();
    let (call, tracking) = wire::parse_originate_response(&reply, &names.originate).unwrap();
    assert_eq!(
        (call.id.as_str(), call.tag.as_str(), tracking.as_str()),
        ("c-1", "t-1", "trk-1")
    );

    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/rest/Session/login",
            "/rest/CallControl/enable_api_notifications",
            "/rest/CallControl/originate_advanced_call"
        ]
    );
    for request in &requests {
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        assert!(request.body["params"].is_object(), "{:?}", request.body);
        assert_eq!(request.body.as_object().unwrap().len(), 1, "only params");
    }
    let login = &requests[0];
    assert_eq!(login.authorization, None, "Session methods take no bearer");
    assert_eq!(
        login.body,
        json!({"params": {"login": "dialer", "password": "pw-1"}})
    );
    let subscribe = &requests[1];
    assert_eq!(subscribe.authorization.as_deref(), Some("Bearer AT1"));
    assert_eq!(subscribe.body, json!({"params": {"i_customer": 7}}));
    let originate = &requests[2];
    assert_eq!(originate.authorization.as_deref(), Some("Bearer AT1"));
    assert_eq!(
        originate.body,
        json!({"params": {
            "callee_id": "+15551230001",
            "caller_id": "aa-100",
            "bill_id": "aa-100",
            "caller_leg_receive_actions": {"voicemail": "allow"},
            "state_info_callback": "http://dialer.example/portaswitch/events/s3cret",
            "state_info_events": ["trying", "ringing", "connected", "queued", "dequeued",
                                  "terminated", "held", "transferred"],
        }})
    );
}

#[test]
fn an_api_token_login_and_empty_params_are_objects() {
    let server = CaptureServer::start();
    let client = client(&server.url, LoginSecret::ApiToken(Secret::new("tok-9")));
    let reply = block_on(client.call("Generic/get_session_data", json!({}))).unwrap();
    assert_eq!(reply["operating_mode"], "normal");
    let requests = server.requests();
    assert_eq!(
        requests[0].body,
        json!({"params": {"login": "dialer", "token": "tok-9"}})
    );
    let probe = requests.last().unwrap();
    assert_eq!(probe.path, "/rest/Generic/get_session_data");
    assert_eq!(probe.body, json!({"params": {}}));
}

#[test]
fn a_session_fault_means_one_new_login_and_a_replay() {
    let server = CaptureServer::start();
    *server.recorder.list_session_faults.lock().unwrap() = 1;
    let client = client(&server.url, LoginSecret::Password(Secret::new("pw")));
    let names = ApiNames::default();
    let reply = block_on(client.call(
        &names.list.list_method,
        wire::customer_params(&names.list, 7, true),
    ))
    .unwrap();
    let entries = wire::parse_calls_list(&reply, &names.list).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].state, Some(dialer::switch::CallStatus::Queued));
    assert_eq!(
        entries[1].state, None,
        "a state outside the vocabulary is kept as unknown"
    );
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/rest/Session/login",
            "/rest/CallControl/enable_api_notifications",
            "/rest/CallControl/get_sip_calls_list",
            "/rest/Session/login",
            "/rest/CallControl/enable_api_notifications",
            "/rest/CallControl/get_sip_calls_list"
        ]
    );
    assert_eq!(requests[2].authorization.as_deref(), Some("Bearer AT1"));
    assert_eq!(requests[5].authorization.as_deref(), Some("Bearer AT2"));
    assert_eq!(
        requests[5].body, requests[2].body,
        "the same request, replayed"
    );
    assert_eq!(
        client
            .stats()
            .relogins_after_fault
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn faults_and_other_statuses_are_typed_errors() {
    let server = CaptureServer::start();
    let client = client(&server.url, LoginSecret::Password(Secret::new("pw")));
    let error = block_on(client.call("CallControl/fails", json!({}))).unwrap_err();
    assert_eq!(
        error,
        PortaError::Fault {
            code: "Server.CallControl.originate_failed".into(),
            string: "no route".into()
        }
    );
    assert!(!error.is_session_fault() && !error.is_site_down());
    let error = block_on(client.call("CallControl/teapot", json!({}))).unwrap_err();
    assert_eq!(error, PortaError::Http(418));
    // Nothing listens here: a connection error, retried, then reported as the site being down.
    let dead = self::client(
        "http://127.0.0.1:9",
        LoginSecret::Password(Secret::new("pw")),
    );
    let error = block_on(dead.call("Generic/get_session_data", json!({}))).unwrap_err();
    assert!(error.is_site_down(), "{error:?}");
}

#[test]
fn credentials_and_tokens_never_print() {
    let secret = Secret::new("pw-should-not-print");
    assert_eq!(format!("{secret:?} {secret}"), "Secret(***) ***");
    let credentials = Credentials {
        login: "dialer".into(),
        secret: LoginSecret::ApiToken(secret),
    };
    assert!(!format!("{credentials:?}").contains("pw-should-not-print"));
}
