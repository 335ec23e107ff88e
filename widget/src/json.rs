//! Just enough JSON for the widget: a reader into [`Json`] and a writer for the few shapes
//! the widget sends or stores. serde_json with the derived (de)serialisers was about a tenth
//! of the WebAssembly (its error strings, float formatting and per-type visitors); the wire
//! format stays defined by the shared types, and the tests compare with them.
//!
//! Numbers: the protocol only has integers, so a number is kept as an `i64` when it is one
//! and otherwise only remembered as "a number" (no float parsing or formatting is linked).

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number (fraction, exponent, out of range); its value is not kept.
    Num,
    Str(String),
    Arr(Vec<Json>),
    /// Members in document order; [`Json::get`] takes the last of duplicate keys.
    Obj(Vec<(String, Json)>),
}

/// Nesting deeper than this is refused (as serde_json does), so the stack cannot overflow.
const MAX_DEPTH: u32 = 128;

impl Json {
    /// `None` unless `text` is exactly one JSON value (surrounding whitespace allowed).
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        u64::try_from(self.as_i64()?).ok()
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let ok = self.s.get(self.i) == Some(&b);
        self.i += usize::from(ok);
        ok
    }

    fn lit(&mut self, word: &[u8], v: Json) -> Option<Json> {
        self.s[self.i..].starts_with(word).then(|| {
            self.i += word.len();
            v
        })
    }

    fn value(&mut self, depth: u32) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.lit(b"null", Json::Null),
            b't' => self.lit(b"true", Json::Bool(true)),
            b'f' => self.lit(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Arr(items))
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.s.get(self.i) != Some(&b'"') {
                            return None;
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Obj(members))
            }
            _ => self.number(),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Json> {
        let negative = self.s.get(self.i) == Some(&b'-');
        self.i += usize::from(negative);
        let int_start = self.i;
        let n = self.digits();
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return None;
        }
        let mut integer = true;
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
            integer = false;
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
            integer = false;
        }
        if !integer {
            return Some(Json::Num);
        }
        // Accumulated negatively so that i64::MIN fits.
        let mut v: i64 = 0;
        for &d in &self.s[int_start..self.i] {
            match v
                .checked_mul(10)
                .and_then(|v| v.checked_sub(i64::from(d - b'0')))
            {
                Some(next) => v = next,
                None => return Some(Json::Num),
            }
        }
        if negative {
            // `-0` is a float to serde_json as well.
            Some(if v == 0 { Json::Num } else { Json::Int(v) })
        } else {
            Some(v.checked_neg().map_or(Json::Num, Json::Int))
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        h.iter()
            .try_fold(0u32, |acc, &b| Some(acc * 16 + char::from(b).to_digit(16)?))
    }

    /// At the opening quote.
    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Cut only at ASCII bytes, so the run is whole UTF-8.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.s[self.i..].starts_with(b"\\u") {
                                    return None;
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                // A raw control character.
                _ => return None,
            }
        }
    }
}

/// Appends `s` as a JSON string, escaped as serde_json does.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one JSON object, members in call order.
pub struct ObjWriter(String);

impl Default for ObjWriter {
    fn default() -> Self {
        ObjWriter(String::from("{"))
    }
}

impl ObjWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn key(mut self, key: &str) -> Self {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_str(&mut self.0, key);
        self.0.push(':');
        self
    }

    pub fn str(self, key: &str, value: &str) -> Self {
        let mut w = self.key(key);
        push_str(&mut w.0, value);
        w
    }

    /// `null` when absent, as serde writes an `Option` without `skip_serializing_if`.
    pub fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// Counts and sequence numbers.
    pub fn int(self, key: &str, value: impl Into<u64>) -> Self {
        let mut w = self.key(key);
        w.0.push_str(&value.into().to_string());
        w
    }

    /// Record ids (ticket numbers) are signed, as the database keeps them.
    pub fn id(self, key: &str, value: i64) -> Self {
        let mut w = self.key(key);
        w.0.push_str(&value.to_string());
        w
    }

    pub fn opt_int(self, key: &str, value: Option<impl Into<u64>>) -> Self {
        match value {
            Some(v) => self.int(key, v),
            None => self.raw(key, "null"),
        }
    }

    pub fn bool(self, key: &str, value: bool) -> Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    fn raw(self, key: &str, json: &str) -> Self {
        let mut w = self.key(key);
        w.0.push_str(json);
        w
    }

    pub fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        for text in [
            r#"{"a":[1,-2,3.5,1e3,null,true,false],"b":{"c":"x\"y\\z\n\u00e9\ud83d\ude00"}}"#,
            " [ ] ",
            "{}",
            "\"\\/\\b\\f\\r\\t\"",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551616",
            "0",
            "-0",
            r#"{"k":1,"k":2}"#,
        ] {
            let ours = Json::parse(text).unwrap_or_else(|| panic!("{text}"));
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(same(&ours, &theirs), "{text}");
        }
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "01",
            "1.",
            "-",
            "\"\u{1}\"",
            "\"\\ud800\"",
            "nul",
            "[1] x",
            "{'a':1}",
            "\"\\x\"",
        ] {
            assert!(Json::parse(bad).is_none(), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(Json::parse(&deep).is_none());
    }

    /// Structural equality, integers compared as integers, other numbers only as numbers.
    fn same(ours: &Json, theirs: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match (ours, theirs) {
            (Json::Null, V::Null) => true,
            (Json::Bool(a), V::Bool(b)) => a == b,
            (Json::Int(a), V::Number(b)) => b.as_i64() == Some(*a),
            (Json::Num, V::Number(b)) => b.as_i64().is_none(),
            (Json::Str(a), V::String(b)) => a == b,
            (Json::Arr(a), V::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
            }
            (Json::Obj(_), V::Object(b)) => b
                .iter()
                .all(|(k, v)| ours.get(k).is_some_and(|x| same(x, v))),
            _ => false,
        }
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀/";
        let mut ours = String::new();
        push_str(&mut ours, s);
        assert_eq!(ours, serde_json::to_string(s).unwrap());
        assert_eq!(Json::parse(&ours), Some(Json::Str(s.into())));
    }
}
