//! Splits a shim's command line into a program and its arguments the way a shell would for
//! simple cases, so that `--peer shim:NAME=COMMAND` and the peers file need no shell.
//!
//! Words are separated by whitespace; `'...'` keeps everything literally; `"..."` keeps
//! everything but lets `\"` and `\\` stand for `"` and `\`; outside quotes `\` takes the next
//! character literally. No variables, globs, pipes or redirections.

/// The words of `command`, or why it cannot be split.
pub fn split(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unterminated ' in command {command:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unterminated \" in command {command:?}")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unterminated \" in command {command:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err(format!("a trailing \\ in command {command:?}")),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn words(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    #[test]
    fn splits_like_a_shell_for_simple_cases() {
        // Expected words are what POSIX sh gives for the same lines.
        assert_eq!(words("node  shim.js"), ["node", "shim.js"]);
        assert_eq!(words(" a\tb\nc "), ["a", "b", "c"]);
        assert_eq!(
            words("python3 'my dir/shim.py' x"),
            ["python3", "my dir/shim.py", "x"]
        );
        assert_eq!(words(r#"a "b \"c\" \\ \n" d"#), ["a", r#"b "c" \ \n"#, "d"]);
        assert_eq!(words(r"a\ b c"), ["a b", "c"]);
        assert_eq!(words("a''b \"\""), ["ab", ""]);
        assert_eq!(words(r#"'it'\''s'"#), ["it's"]);
    }

    #[test]
    fn refuses_what_it_cannot_split() {
        assert!(split("a 'b").unwrap_err().contains("unterminated '"));
        assert!(split("a \"b").unwrap_err().contains("unterminated \""));
        assert!(split("a \\").unwrap_err().contains("trailing"));
        assert!(split("   ").unwrap_err().contains("empty"));
    }
}
