//! Quoting untrusted input back in messages: escaped (control characters, quotes and other
//! unprintables as `\0`, `\u{1b}`...) and cut to a length, so a hostile file or request body
//! cannot make a long or terminal-garbling message. Pure.

/// Characters of a value quoted back, unless a caller says otherwise.
pub const SHOWN_CHARS: usize = 64;

/// `text` escaped and cut to [`SHOWN_CHARS`] characters (then `...`).
pub fn shown(text: &str) -> String {
    shown_at_most(text, SHOWN_CHARS)
}

/// `text` escaped and cut to `max` characters (then `...`).
pub fn shown_at_most(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == max {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_cut() {
        assert_eq!(shown("+1 201"), "+1 201");
        assert_eq!(shown("a\0b\u{1b}[2J"), "a\\0b\\u{1b}[2J");
        assert_eq!(shown_at_most("abcdef", 3), "abc...");
        assert_eq!(shown(&"x".repeat(1 << 20)).len(), SHOWN_CHARS + 3);
    }
}
