//! A User-Agent string summarised for agents: "Chrome 156 on Linux". Only the common
//! browsers and systems are named; anything else is shown as it came (the pane truncates).
//! Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari", Android also
//! says "Linux".

/// `None` when neither browser nor system is recognised.
pub fn summary(ua: &str) -> Option<String> {
    let browser = browser(ua);
    let os = os(ua);
    match (browser, os) {
        (Some(b), Some(o)) => Some(format!("{b} on {o}")),
        (Some(b), None) => Some(b),
        (None, Some(o)) => Some(o.to_owned()),
        (None, None) => None,
    }
}

fn browser(ua: &str) -> Option<String> {
    const KNOWN: [(&str, &str); 8] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
    ];
    for (token, name) in KNOWN {
        if let Some(v) = major_after(ua, token) {
            return Some(format!("{name} {v}"));
        }
    }
    if ua.contains("Safari/") {
        return Some(match major_after(ua, "Version/") {
            Some(v) => format!("Safari {v}"),
            None => "Safari".to_owned(),
        });
    }
    None
}

fn os(ua: &str) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 8] = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ];
    KNOWN
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

/// The major version right after `token`, e.g. `Chrome/156.0.1` → `156`.
fn major_after<'a>(ua: &'a str, token: &str) -> Option<&'a str> {
    let rest = &ua[ua.find(token)? + token.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn common_browsers_are_named_with_their_major_version_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                "Chrome 156 on Linux",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0.7390.54 Safari/537.36",
                "Chrome (headless) 141 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
                "Edge 120 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
                "Chrome 120 on Android",
            ),
        ];
        for (ua, want) in cases {
            assert_eq!(summary(ua).as_deref(), Some(want), "{ua}");
        }
        assert_eq!(summary("curl/8.5.0"), None);
    }
}
