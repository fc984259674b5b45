//! A small reader for the Python `repr` that Koku's flattened GCP CSV writes in its array
//! columns: `[{'key': 'goog-resource-type', 'value': 'bigquery_dataset'}]`,
//! `[{'name': 'FreeTrial:Credit-1', 'amount': -5e-06, 'full_name': None}]`.
//!
//! It is not JSON (single quotes, `None`/`True`/`False`), and it must never be evaluated.
//! The grammar read here is the literal subset repr produces for lists of dicts: lists,
//! tuples, dicts, quoted strings with backslash escapes, numbers, `None`, `True`, `False`.
//! Numbers are kept as their source text (in a JSON string) so amounts reach `Decimal`
//! without passing through a float.

use serde_json::{Map, Value};

/// Parses one repr literal. Errors say what was expected and at which character.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.fail("end of the value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn fail(&self, expected: &str) -> String {
        let near: String = self
            .text
            .get(self.i..)
            .unwrap_or("")
            .chars()
            .take(20)
            .collect();
        format!(
            "bad Python literal: expected {expected} at character {} (near {near:?})",
            self.i
        )
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'[') => self.seq(b'[', b']'),
            Some(b'(') => self.seq(b'(', b')'),
            Some(b'{') => self.dict(),
            Some(b'\'') | Some(b'"') => self.string().map(Value::String),
            Some(b) if b.is_ascii_digit() || *b == b'-' || *b == b'+' || *b == b'.' => {
                self.number()
            }
            Some(_) => self.word(),
            None => Err(self.fail("a value")),
        }
    }

    fn seq(&mut self, open: u8, close: u8) -> Result<Value, String> {
        self.eat(open);
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            if !self.eat(b',') {
                return if self.eat(close) {
                    Ok(Value::Array(items))
                } else {
                    Err(self.fail(&format!("',' or '{}'", close as char)))
                };
            }
        }
    }

    fn dict(&mut self) -> Result<Value, String> {
        self.eat(b'{');
        let mut map = Map::new();
        loop {
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            self.ws();
            let key = match self.value()? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if !self.eat(b':') {
                return Err(self.fail("':'"));
            }
            let v = self.value()?;
            map.insert(key, v);
            if !self.eat(b',') {
                return if self.eat(b'}') {
                    Ok(Value::Object(map))
                } else {
                    Err(self.fail("',' or '}'"))
                };
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.text.get(self.i..).unwrap_or("").char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                c if c as u32 == quote as u32 => {
                    self.i += off + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'x' | 'u' | 'U' => {
                            let len = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = (0..len)
                                .filter_map(|_| chars.next().map(|(_, h)| h))
                                .collect();
                            let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                            match ch {
                                Some(ch) if hex.len() == len => out.push(ch),
                                _ => return Err(self.fail("a valid \\x, \\u or \\U escape")),
                            }
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.fail("a closing quote"))
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        {
            self.i += 1;
        }
        let token = &self.text[start..self.i];
        let ok = token.bytes().any(|b| b.is_ascii_digit())
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        if ok {
            Ok(Value::String(token.to_string()))
        } else {
            self.i = start;
            Err(self.fail("a number"))
        }
    }

    fn word(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.i += 1;
        }
        match &self.text[start..self.i] {
            // JSON's spellings too, for flatteners that wrote JSON instead of repr.
            "None" | "null" => Ok(Value::Null),
            "True" | "true" => Ok(Value::Bool(true)),
            "False" | "false" => Ok(Value::Bool(false)),
            _ => {
                self.i = start;
                Err(self.fail("a literal (string, number, None, True, False, list or dict)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn koku_credit_arrays() {
        let v = parse("[{'name': 'FreeTrial:Credit-000000-B0BBA4-940A77', 'amount': -5e-06, 'full_name': None, 'id': 'FreeTrial:Credit-000000-B0BBA4-940A77', 'type': 'PROMOTION'}]")
            .expect("parses");
        assert_eq!(
            v,
            json!([{"name": "FreeTrial:Credit-000000-B0BBA4-940A77", "amount": "-5e-06",
                    "full_name": null, "id": "FreeTrial:Credit-000000-B0BBA4-940A77", "type": "PROMOTION"}])
        );
    }

    #[test]
    fn quotes_escapes_and_empties() {
        assert_eq!(parse("[]"), Ok(json!([])));
        assert_eq!(parse("  None "), Ok(Value::Null));
        assert_eq!(
            parse(r#"[{'key': "it's", 'value': 'a\'b\\c\u00e9'}, ('x', True)]"#),
            Ok(json!([{"key": "it's", "value": "a'b\\cé"}, ["x", true]]))
        );
        assert_eq!(parse("{'k': 'naïve ✓'}"), Ok(json!({"k": "naïve ✓"})));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "[{'a': 1",
            "[1 2]",
            "{'a' 1}",
            "__import__('os')",
            "'open",
            "[1,]x",
            "\\",
            "{'a': '\\x4'}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
