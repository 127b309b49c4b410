//! The console's web pages, embedded in the binary: no CDN, no build step. Plain HTML, CSS and
//! JavaScript (`assets/`); charts are hand-drawn SVG. The pages obey a strict Content Security
//! Policy (scripts and styles from this server only, nothing inline).
//!
//! Content only; [`super::api`] serves it.

/// The console's single page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
const LOGIN_HTML: &str = include_str!("assets/login.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// An asset by file name: `(content type, body)`.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        "favicon.svg" => ("image/svg+xml", FAVICON_SVG),
        _ => return None,
    })
}

/// The login page, with an error message if the last try failed (fixed texts only).
pub fn login_html(error: Option<&'static str>) -> String {
    let message = error.map_or(String::new(), |text| {
        format!("<p class=\"login-error\" role=\"alert\">{text}</p>")
    });
    LOGIN_HTML.replace("<!--ERROR-->", &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_load_only_local_scripts_and_styles() {
        for page in [INDEX_HTML, &login_html(Some("x"))] {
            assert!(!page.contains("http://") && !page.contains("https://"));
            assert!(!page.contains("<script>"), "no inline script");
            assert!(!page.contains("style="), "no inline style");
        }
        assert!(login_html(Some("wrong")).contains("wrong"));
        assert!(get("app.js").is_some() && get("../secret").is_none());
    }
}
