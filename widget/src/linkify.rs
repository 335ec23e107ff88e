//! Splits message text into plain text and web links, without a regex crate. Message text is
//! never HTML: the UI renders every token as a text node; only `http://` and `https://` links
//! become anchors, so `javascript:` and friends stay text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    Text(&'a str),
    Link(&'a str),
}

const SCHEMES: [&str; 2] = ["https://", "http://"];

/// Splits `s` into text and links, in order; concatenating the tokens gives `s` back.
pub fn tokenize(s: &str) -> Vec<Token<'_>> {
    // ASCII lowercasing keeps every byte offset, so positions found in `lower` index `s`.
    let lower = s.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < s.len() {
        if let Some(end) = link_at(s, &lower, i) {
            if text_start < i {
                out.push(Token::Text(&s[text_start..i]));
            }
            out.push(Token::Link(&s[i..end]));
            i = end;
            text_start = end;
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if text_start < s.len() {
        out.push(Token::Text(&s[text_start..]));
    }
    out
}

/// If a link starts at byte `i`, the byte offset where it ends.
fn link_at(s: &str, lower: &str, i: usize) -> Option<usize> {
    let scheme = SCHEMES.iter().find(|p| lower[i..].starts_with(*p))?;
    // "xhttp://" is not a link start; "(http://" and " http://" are.
    if s[..i]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    let rest = &s[i + scheme.len()..];
    let mut len = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
        .map_or(rest.len(), |(at, _)| at);
    // Trailing punctuation belongs to the sentence, and a closing bracket only to the link
    // when the link opened one ("(see https://x.example/a_(b))").
    while let Some(c) = rest[..len].chars().next_back() {
        let strip = match c {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' => true,
            ')' => rest[..len].matches('(').count() < rest[..len].matches(')').count(),
            ']' => rest[..len].matches('[').count() < rest[..len].matches(']').count(),
            _ => false,
        };
        if !strip {
            break;
        }
        len -= c.len_utf8();
    }
    // A host is needed: "https://" alone, or "http://." stays text.
    let host_ok = rest[..len]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '[');
    host_ok.then_some(i + scheme.len() + len)
}

#[cfg(test)]
mod tests {
    use super::Token::{Link, Text};
    use super::*;

    #[test]
    fn plain_text_is_one_text_token() {
        assert_eq!(tokenize("Guten Tag"), vec![Text("Guten Tag")]);
        assert!(tokenize("").is_empty());
    }

    #[test]
    fn links_are_cut_out_of_the_sentence() {
        assert_eq!(
            tokenize("Siehe https://acme.example/wartung?id=4. Danke"),
            vec![
                Text("Siehe "),
                Link("https://acme.example/wartung?id=4"),
                Text(". Danke")
            ]
        );
    }

    #[test]
    fn scheme_is_case_insensitive_and_http_counts() {
        assert_eq!(tokenize("HTTP://A.example"), vec![Link("HTTP://A.example")]);
    }

    #[test]
    fn other_schemes_stay_text() {
        for s in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://x.example",
            "mailto:a@b.example",
        ] {
            assert_eq!(tokenize(s), vec![Text(s)], "{s}");
        }
    }

    #[test]
    fn markup_ends_a_link_and_stays_text() {
        assert_eq!(
            tokenize("<a href=\"https://x.example\">x</a>"),
            vec![
                Text("<a href=\""),
                Link("https://x.example"),
                Text("\">x</a>")
            ]
        );
    }

    #[test]
    fn brackets_close_the_link_only_when_it_opened_one() {
        assert_eq!(
            tokenize("(https://x.example/a)"),
            vec![Text("("), Link("https://x.example/a"), Text(")")]
        );
        assert_eq!(
            tokenize("https://de.wikipedia.example/wiki/A_(B)"),
            vec![Link("https://de.wikipedia.example/wiki/A_(B)")]
        );
    }

    #[test]
    fn a_scheme_glued_to_a_word_or_without_host_is_text() {
        assert_eq!(
            tokenize("xhttps://a.example"),
            vec![Text("xhttps://a.example")]
        );
        assert_eq!(tokenize("https:// leer"), vec![Text("https:// leer")]);
    }

    #[test]
    fn umlauts_around_links_keep_their_bytes() {
        let s = "Öffnen: https://ä.example/ü – schön";
        let joined: String = tokenize(s)
            .iter()
            .map(|t| match t {
                Text(x) | Link(x) => *x,
            })
            .collect();
        assert_eq!(joined, s);
        assert!(tokenize(s).contains(&Link("https://ä.example/ü")));
    }
}
