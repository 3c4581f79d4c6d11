//! The source rewrite that lets every compile error name its line: each
//! table constructor `{` becomes `__sb2_t(LINE,{` (or `(__sb2_t(LINE,{`
//! where the table is a call argument, `f{...}`), and each `}` is closed to
//! match. A small hand-written Lua lexer: comments, short and long strings
//! pass through untouched, and no newline is ever added, so the line
//! numbers of Lua's own errors stay right.

/// Inserts `__sb2_t(LINE,` before each table constructor (see module doc).
pub fn instrument(src: &str) -> String {
    #[derive(PartialEq)]
    enum Close {
        Plain,
        Call,
    }
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() * 2);
    let mut stack: Vec<Close> = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    // Previous significant token: was it something a call can follow?
    let mut callable = false;
    let mut word = String::new();
    let long_bracket = |i: usize| -> Option<usize> {
        // At '[': returns the level if this opens a long bracket.
        let mut j = i + 1;
        while b.get(j) == Some(&b'=') {
            j += 1;
        }
        (b.get(j) == Some(&b'[')).then_some(j - i - 1)
    };
    let copy_until = |out: &mut String, line: &mut u32, from: usize, close: &[u8]| -> usize {
        let mut j = from;
        while j < b.len() && !b[j..].starts_with(close) {
            if b[j] == b'\n' {
                *line += 1;
            }
            j += 1;
        }
        let end = (j + close.len()).min(b.len());
        *line += src[j..end].matches('\n').count() as u32;
        out.push_str(&src[from..end]);
        end
    };
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            if b.get(i + 2) == Some(&b'[') {
                if let Some(lvl) = long_bracket(i + 2) {
                    let close = format!("]{}]", "=".repeat(lvl));
                    i = copy_until(&mut out, &mut line, i, close.as_bytes());
                    continue;
                }
            }
            i = copy_until(&mut out, &mut line, i, b"\n");
            continue;
        }
        if c == b'[' {
            if let Some(lvl) = long_bracket(i) {
                let close = format!("]{}]", "=".repeat(lvl));
                i = copy_until(&mut out, &mut line, i, close.as_bytes());
                callable = true;
                word.clear();
                continue;
            }
        }
        if c == b'"' || c == b'\'' {
            let mut j = i + 1;
            while j < b.len() && b[j] != c {
                if b[j] == b'\\' {
                    j += 1;
                }
                if b.get(j) == Some(&b'\n') {
                    line += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            out.push_str(&src[i..end]);
            i = end;
            callable = true;
            word.clear();
            continue;
        }
        if c == b'{' {
            const KEYWORDS: &[&str] = &[
                "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
                "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
                "until", "while",
            ];
            let is_call = callable && !KEYWORDS.contains(&word.as_str());
            if is_call {
                out.push_str(&format!("(__sb2_t({line},{{"));
                stack.push(Close::Call);
            } else {
                out.push_str(&format!("__sb2_t({line},{{"));
                stack.push(Close::Plain);
            }
            callable = false;
            word.clear();
            i += 1;
            continue;
        }
        if c == b'}' {
            match stack.pop() {
                Some(Close::Call) => out.push_str("}))"),
                Some(Close::Plain) => out.push_str("})"),
                None => out.push('}'),
            }
            callable = true;
            word.clear();
            i += 1;
            continue;
        }
        if c == b'\n' {
            line += 1;
        }
        if c.is_ascii_alphanumeric() || c == b'_' {
            if !callable || word.is_empty() {
                word.clear();
            }
            word.push(c as char);
            callable = true;
        } else if c == b')' || c == b']' {
            callable = true;
            word.clear();
        } else if !c.is_ascii_whitespace() {
            callable = false;
            word.clear();
        }
        // Multi-byte UTF-8 passes through byte-wise.
        let ch_len = src[i..].chars().next().map(|ch| ch.len_utf8()).unwrap_or(1);
        out.push_str(&src[i..i + ch_len]);
        i += ch_len;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn instrument_keeps_lines_and_wraps_tables() {
        let src = "x = {\n a = 1, -- { not this\n b = f{ 2 }, s = \"{\" }\nreturn { [[ { ]] }";
        let out = super::instrument(src);
        assert_eq!(out.lines().count(), src.lines().count());
        assert!(out.starts_with("x = __sb2_t(1,{"));
        assert!(out.contains("f(__sb2_t(3,{ 2 }))"), "{out}");
        assert!(out.contains("-- { not this") && out.contains("\"{\"") && out.contains("[[ { ]]"));
    }
}
