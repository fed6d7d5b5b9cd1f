//! RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths, parsed by recursive descent into the
//! typed `directory.v1` tree.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"   ; and "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"           ; no nesting
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER    ; not > and > or
//! compValue = false / null / true / number / string ; JSON literals
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! PATH      = attrPath / valuePath [subAttr]        ; PATCH
//! ```
//!
//! Keywords, operators and literals are case-insensitive (ABNF strings are). As an extension
//! the common `emails[type eq "work"].value eq "x"` form is accepted and read as
//! `emails[type eq "work" and value eq "x"]`, which means the same thing.
//!
//! The parser never panics on any input and bounds its recursion depth.

use std::fmt;

use directory_proto::v1::{
    AttributePath, CompareOp, Comparison, Filter, FilterList, FilterValue, ValuePathFilter,
    filter::Node, filter_value::Kind,
};

use super::USER_SCHEMA;

/// Deepest nesting of parentheses / `not` / value paths accepted.
/// Deeper trees would not survive the protobuf decoder's recursion limit (100) on the
/// way to the directory, and no IdP nests filters more than a few levels.
const MAX_DEPTH: usize = 12;

/// Why a filter or path did not parse; `position` is a character offset into the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

impl std::error::Error for FilterError {}

/// A PATCH `path`: the target attribute plus, for `emails[type eq "work"].value`, the filter
/// that selects values of the multi-valued attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub path: AttributePath,
    pub value_filter: Option<Filter>,
}

/// Parses a complete `filter` query parameter.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser::new(input);
    parser.skip_whitespace();
    if parser.at_end() {
        return Err(parser.error("filter is empty"));
    }
    let filter = parser.parse_or(false)?;
    parser.skip_whitespace();
    if !parser.at_end() {
        return Err(parser.unexpected("'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

/// Parses a PATCH operation `path` (RFC 7644 §3.5.2 `PATH`).
pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut parser = Parser::new(input.trim());
    let word_start = parser.position();
    let word = parser.read_word();
    let mut path = attribute_path_from_text(word).map_err(|message| FilterError {
        position: word_start,
        message,
    })?;
    let mut value_filter = None;
    if parser.peek() == Some('[') {
        if !path.sub_attribute.is_empty() {
            return Err(parser.error(
                "a value filter must follow a multi-valued attribute, not a sub-attribute",
            ));
        }
        parser.bump();
        let filter = parser.parse_or(true)?;
        parser.skip_whitespace();
        parser.expect(']')?;
        if parser.peek() == Some('.') {
            parser.bump();
            let sub_start = parser.position();
            let sub = parser.read_word();
            validate_attribute_name(sub).map_err(|message| FilterError {
                position: sub_start,
                message,
            })?;
            path.sub_attribute = sub.to_owned();
        }
        value_filter = Some(filter);
    }
    if !parser.at_end() {
        return Err(parser.unexpected("the end of the path"));
    }
    Ok(PatchPath { path, value_filter })
}

/// Parses `[URI ":"] ATTRNAME ["." ATTRNAME]` (no filter). Used for the keys of a
/// path-less PATCH value (`name.givenName`, `urn:...:enterprise:2.0:User:department`).
pub fn parse_attribute_path(input: &str) -> Result<AttributePath, FilterError> {
    attribute_path_from_text(input).map_err(|message| FilterError {
        position: 0,
        message,
    })
}

/// Splits an attribute path; the core User schema URN is dropped (empty means core).
fn attribute_path_from_text(text: &str) -> Result<AttributePath, String> {
    if text.is_empty() {
        return Err("expected an attribute path".to_owned());
    }
    let (schema, rest) = if text
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        let colon = text.rfind(':').unwrap_or(0);
        let (schema, rest) = (&text[..colon], &text[colon + 1..]);
        if !schema.get(4..).is_some_and(|s| s.contains(':')) || schema.contains(char::is_whitespace)
        {
            return Err(format!("'{text}' is not a schema-qualified attribute path"));
        }
        (schema, rest)
    } else {
        ("", text)
    };
    let (attribute, sub_attribute) = match rest.split_once('.') {
        Some((attribute, sub)) => (attribute, sub),
        None => (rest, ""),
    };
    validate_attribute_name(attribute)?;
    if !sub_attribute.is_empty() || rest.contains('.') {
        validate_attribute_name(sub_attribute)?;
    }
    let schema = if schema.eq_ignore_ascii_case(USER_SCHEMA) {
        ""
    } else {
        schema
    };
    Ok(AttributePath {
        schema: schema.to_owned(),
        attribute: attribute.to_owned(),
        sub_attribute: sub_attribute.to_owned(),
    })
}

/// `ATTRNAME = ALPHA *(nameChar)`, plus `$ref` (RFC 7643 §2.3.7 reference sub-attribute).
fn validate_attribute_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some('$') => name == "$ref",
        Some(first) if first.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else if name.is_empty() {
        Err("expected an attribute name".to_owned())
    } else {
        Err(format!("'{name}' is not a valid attribute name"))
    }
}

struct Parser<'a> {
    input: &'a str,
    /// Byte offset, always on a char boundary.
    offset: usize,
    depth: usize,
    /// The last (byte offset, char position) computed: positions are asked for at every
    /// comparison, and counting from the start each time made long filters quadratic.
    position_cache: std::cell::Cell<(usize, usize)>,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Parser {
            input,
            offset: 0,
            depth: 0,
            position_cache: std::cell::Cell::new((0, 0)),
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.offset..]
    }

    fn at_end(&self) -> bool {
        self.offset >= self.input.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.offset += c.len_utf8();
        }
    }

    /// Character (not byte) position, for error messages. Counted from the last position
    /// asked for, so the cost is the distance moved since.
    fn position(&self) -> usize {
        let (cached_offset, cached_chars) = self.position_cache.get();
        let chars = if self.offset >= cached_offset {
            cached_chars + self.input[cached_offset..self.offset].chars().count()
        } else {
            cached_chars - self.input[self.offset..cached_offset].chars().count()
        };
        self.position_cache.set((self.offset, chars));
        chars
    }

    fn skip_whitespace(&mut self) -> bool {
        let before = self.offset;
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        self.offset != before
    }

    fn error(&self, message: impl Into<String>) -> FilterError {
        FilterError {
            position: self.position(),
            message: message.into(),
        }
    }

    fn unexpected(&self, expected: &str) -> FilterError {
        match self.peek() {
            None => self.error(format!("expected {expected}, found the end of the input")),
            Some(_) => {
                let found: String = self.rest().chars().take(20).collect();
                self.error(format!("expected {expected}, found '{found}'"))
            }
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), FilterError> {
        if self.peek() == Some(wanted) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{wanted}'")))
        }
    }

    /// Reads a run of characters up to whitespace, a bracket, a parenthesis or a quote.
    fn read_word(&mut self) -> &'a str {
        let start = self.offset;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                break;
            }
            self.bump();
        }
        &self.input[start..self.offset]
    }

    /// Consumes `keyword` (case-insensitive, as a whole word, after optional whitespace).
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let saved = self.offset;
        self.skip_whitespace();
        let word = self.read_word();
        if word.eq_ignore_ascii_case(keyword) {
            true
        } else {
            self.offset = saved;
            false
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(self.error(format!("filter nests deeper than {MAX_DEPTH} levels")))
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn parse_or(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut items = vec![self.parse_and(in_value_path)?];
        while self.eat_keyword("or") {
            items.push(self.parse_and(in_value_path)?);
        }
        Ok(combine(items, Logic::Or))
    }

    fn parse_and(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut items = vec![self.parse_unary(in_value_path)?];
        while self.eat_keyword("and") {
            items.push(self.parse_unary(in_value_path)?);
        }
        Ok(combine(items, Logic::And))
    }

    fn parse_unary(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        self.skip_whitespace();
        if self.peek() == Some('(') {
            self.bump();
            self.enter()?;
            let inner = self.parse_or(in_value_path)?;
            self.skip_whitespace();
            self.expect(')')?;
            self.leave();
            return Ok(inner);
        }
        // `not` is a keyword only when a parenthesis follows; otherwise it is an attribute.
        let saved = self.offset;
        if self.read_word().eq_ignore_ascii_case("not") {
            self.skip_whitespace();
            if self.peek() == Some('(') {
                self.bump();
                self.enter()?;
                let inner = self.parse_or(in_value_path)?;
                self.skip_whitespace();
                self.expect(')')?;
                self.leave();
                return Ok(Filter {
                    node: Some(Node::Not(Box::new(inner))),
                });
            }
        }
        self.offset = saved;
        self.parse_attribute_expression(in_value_path)
    }

    fn parse_attribute_expression(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        let path_start = self.position();
        let text = self.read_word();
        if text.is_empty() {
            return Err(self.unexpected("an attribute path, '(' or 'not'"));
        }
        let path = attribute_path_from_text(text).map_err(|message| FilterError {
            position: path_start,
            message,
        })?;

        if self.peek() == Some('[') {
            if in_value_path {
                return Err(self.error("value filters cannot be nested"));
            }
            if !path.sub_attribute.is_empty() {
                return Err(self.error(
                    "a value filter must follow a multi-valued attribute, not a sub-attribute",
                ));
            }
            self.bump();
            self.enter()?;
            let inner = self.parse_or(true)?;
            self.skip_whitespace();
            self.expect(']')?;
            self.leave();
            let filter = if self.peek() == Some('.') {
                // `emails[type eq "work"].value eq "x"`: fold the trailing comparison in.
                self.bump();
                let sub_start = self.position();
                let sub = self.read_word();
                validate_attribute_name(sub).map_err(|message| FilterError {
                    position: sub_start,
                    message,
                })?;
                let sub_path = AttributePath {
                    schema: String::new(),
                    attribute: sub.to_owned(),
                    sub_attribute: String::new(),
                };
                let comparison = self.parse_operator_and_value(sub_path)?;
                combine(vec![inner, comparison], Logic::And)
            } else {
                inner
            };
            return Ok(Filter {
                node: Some(Node::ValuePath(Box::new(ValuePathFilter {
                    path: Some(path),
                    filter: Some(Box::new(filter)),
                }))),
            });
        }
        self.parse_operator_and_value(path)
    }

    fn parse_operator_and_value(&mut self, path: AttributePath) -> Result<Filter, FilterError> {
        if !self.skip_whitespace() {
            return Err(self.unexpected("a space and an operator"));
        }
        let op_start = self.position();
        let op_text = self.read_word();
        let op = match op_text.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            "pr" => CompareOp::Pr,
            "" => return Err(self.unexpected("an operator")),
            _ => {
                return Err(FilterError {
                    position: op_start,
                    message: format!(
                        "unknown operator '{op_text}' (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)"
                    ),
                });
            }
        };
        let value = if op == CompareOp::Pr {
            None
        } else {
            if !self.skip_whitespace() {
                return Err(self.unexpected("a space and a comparison value"));
            }
            Some(self.parse_comparison_value()?)
        };
        Ok(Filter {
            node: Some(Node::Compare(Comparison {
                path: Some(path),
                op: op as i32,
                value,
            })),
        })
    }

    fn parse_comparison_value(&mut self) -> Result<FilterValue, FilterError> {
        let start = self.position();
        if self.peek() == Some('"') {
            let begin = self.offset;
            self.bump();
            loop {
                match self.peek() {
                    None => {
                        return Err(FilterError {
                            position: start,
                            message: "unterminated string".to_owned(),
                        });
                    }
                    Some('\\') => {
                        self.bump();
                        self.bump();
                    }
                    Some('"') => {
                        self.bump();
                        break;
                    }
                    Some(_) => self.bump(),
                }
            }
            let literal = &self.input[begin..self.offset];
            let decoded: String = serde_json::from_str(literal).map_err(|e| FilterError {
                position: start,
                message: format!("invalid string {literal}: {e}"),
            })?;
            // As in request bodies: no stored value holds a control character other than
            // tab, CR or LF, so a filter naming one is an error, not an empty answer.
            if decoded
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                return Err(FilterError {
                    position: start,
                    message: "a filter string must not contain control characters".to_owned(),
                });
            }
            return Ok(FilterValue {
                kind: Some(Kind::StringValue(decoded)),
            });
        }
        let word = self.read_word();
        let kind = match word.to_ascii_lowercase().as_str() {
            "true" => Kind::BoolValue(true),
            "false" => Kind::BoolValue(false),
            "null" => Kind::NullValue(true),
            "" => return Err(self.unexpected("a comparison value")),
            _ => match serde_json::from_str::<serde_json::Number>(word)
                .ok()
                .and_then(|n| n.as_f64())
            {
                Some(number) => Kind::NumberValue(number),
                None => {
                    return Err(FilterError {
                        position: start,
                        message: format!(
                            "'{word}' is not a comparison value (use a quoted string, a number, true, false or null)"
                        ),
                    });
                }
            },
        };
        Ok(FilterValue { kind: Some(kind) })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
}

/// Builds an `and`/`or` node, flattening nested nodes of the same kind.
fn combine(items: Vec<Filter>, logic: Logic) -> Filter {
    if items.len() == 1 {
        return items.into_iter().next().unwrap_or_default();
    }
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item.node {
            Some(Node::And(list)) if logic == Logic::And => flat.extend(list.filters),
            Some(Node::Or(list)) if logic == Logic::Or => flat.extend(list.filters),
            node => flat.push(Filter { node }),
        }
    }
    let list = FilterList { filters: flat };
    Filter {
        node: Some(match logic {
            Logic::And => Node::And(list),
            Logic::Or => Node::Or(list),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // ---- builders for expected trees

    pub(crate) fn path(schema: &str, attribute: &str, sub: &str) -> AttributePath {
        AttributePath {
            schema: schema.into(),
            attribute: attribute.into(),
            sub_attribute: sub.into(),
        }
    }

    fn attr(text: &str) -> AttributePath {
        parse_attribute_path(text).unwrap()
    }

    fn cmp(p: &str, op: CompareOp, value: Option<Kind>) -> Filter {
        Filter {
            node: Some(Node::Compare(Comparison {
                path: Some(attr(p)),
                op: op as i32,
                value: value.map(|kind| FilterValue { kind: Some(kind) }),
            })),
        }
    }

    pub(crate) fn eq_str(p: &str, v: &str) -> Filter {
        cmp(p, CompareOp::Eq, Some(Kind::StringValue(v.into())))
    }

    fn s(v: &str) -> Option<Kind> {
        Some(Kind::StringValue(v.into()))
    }

    fn and(items: Vec<Filter>) -> Filter {
        Filter {
            node: Some(Node::And(FilterList { filters: items })),
        }
    }

    fn or(items: Vec<Filter>) -> Filter {
        Filter {
            node: Some(Node::Or(FilterList { filters: items })),
        }
    }

    fn not(inner: Filter) -> Filter {
        Filter {
            node: Some(Node::Not(Box::new(inner))),
        }
    }

    fn vp(p: &str, inner: Filter) -> Filter {
        Filter {
            node: Some(Node::ValuePath(Box::new(ValuePathFilter {
                path: Some(attr(p)),
                filter: Some(Box::new(inner)),
            }))),
        }
    }

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn parses_valid_filters() {
        use CompareOp::*;
        let table: Vec<(&str, Filter)> = vec![
            (r#"userName eq "bjensen""#, eq_str("userName", "bjensen")),
            (r#"USERNAME EQ "bjensen""#, eq_str("USERNAME", "bjensen")),
            (r#"  userName   eq   "x"  "#, eq_str("userName", "x")),
            (
                r#"name.familyName co "O'Malley""#,
                cmp("name.familyName", Co, s("O'Malley")),
            ),
            (r#"userName sw "J""#, cmp("userName", Sw, s("J"))),
            (r#"userName Ew "J""#, cmp("userName", Ew, s("J"))),
            (r#"userName ne "J""#, cmp("userName", Ne, s("J"))),
            ("title pr", cmp("title", Pr, None)),
            ("title PR", cmp("title", Pr, None)),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
                cmp("userName", Sw, s("J")),
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                Filter {
                    node: Some(Node::Compare(Comparison {
                        path: Some(path(ENT, "employeeNumber", "")),
                        op: Eq as i32,
                        value: Some(FilterValue { kind: s("701984") }),
                    })),
                },
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
                Filter {
                    node: Some(Node::Compare(Comparison {
                        path: Some(path(ENT, "manager", "value")),
                        op: Eq as i32,
                        value: Some(FilterValue {
                            kind: s("26118915"),
                        }),
                    })),
                },
            ),
            (
                r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
                cmp("meta.lastModified", Gt, s("2011-05-13T04:42:34Z")),
            ),
            (
                r#"meta.lastModified ge "x""#,
                cmp("meta.lastModified", Ge, s("x")),
            ),
            (
                r#"meta.lastModified lt "x""#,
                cmp("meta.lastModified", Lt, s("x")),
            ),
            (
                r#"meta.lastModified le "x""#,
                cmp("meta.lastModified", Le, s("x")),
            ),
            (
                "active eq true",
                cmp("active", Eq, Some(Kind::BoolValue(true))),
            ),
            (
                "active eq False",
                cmp("active", Eq, Some(Kind::BoolValue(false))),
            ),
            (
                "title eq null",
                cmp("title", Eq, Some(Kind::NullValue(true))),
            ),
            ("age gt 42", cmp("age", Gt, Some(Kind::NumberValue(42.0)))),
            (
                "age gt -1.5e2",
                cmp("age", Gt, Some(Kind::NumberValue(-150.0))),
            ),
            (
                r#"userName eq "a \"quoted\" \\ back \u00e9 \/""#,
                eq_str("userName", "a \"quoted\" \\ back é /"),
            ),
            (r#"userName eq "Émile ü""#, eq_str("userName", "Émile ü")),
            (r#"userName eq """#, eq_str("userName", "")),
            (
                r#"title pr and userType eq "Employee""#,
                and(vec![cmp("title", Pr, None), eq_str("userType", "Employee")]),
            ),
            (
                r#"title pr or userType eq "Intern""#,
                or(vec![cmp("title", Pr, None), eq_str("userType", "Intern")]),
            ),
            // precedence: and binds tighter than or
            (
                r#"a eq "1" or b eq "2" and c eq "3""#,
                or(vec![
                    eq_str("a", "1"),
                    and(vec![eq_str("b", "2"), eq_str("c", "3")]),
                ]),
            ),
            (
                r#"a eq "1" and b eq "2" or c eq "3""#,
                or(vec![
                    and(vec![eq_str("a", "1"), eq_str("b", "2")]),
                    eq_str("c", "3"),
                ]),
            ),
            // chains flatten, also through redundant parentheses
            (
                r#"a eq "1" and b eq "2" and c eq "3""#,
                and(vec![eq_str("a", "1"), eq_str("b", "2"), eq_str("c", "3")]),
            ),
            (
                r#"(a eq "1" and b eq "2") and c eq "3""#,
                and(vec![eq_str("a", "1"), eq_str("b", "2"), eq_str("c", "3")]),
            ),
            (
                r#"a eq "1" or b eq "2" OR c eq "3""#,
                or(vec![eq_str("a", "1"), eq_str("b", "2"), eq_str("c", "3")]),
            ),
            (
                r#"(a eq "1" or b eq "2") and c eq "3""#,
                and(vec![
                    or(vec![eq_str("a", "1"), eq_str("b", "2")]),
                    eq_str("c", "3"),
                ]),
            ),
            (r#"((a eq "1"))"#, eq_str("a", "1")),
            // not binds tighter than and
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                and(vec![
                    cmp("userType", Ne, s("Employee")),
                    not(or(vec![
                        cmp("emails", Co, s("example.com")),
                        cmp("emails.value", Co, s("example.org")),
                    ])),
                ]),
            ),
            (r#"NOT(a eq "1")"#, not(eq_str("a", "1"))),
            (
                r#"not (a eq "1") or b eq "2""#,
                or(vec![not(eq_str("a", "1")), eq_str("b", "2")]),
            ),
            // an attribute may be called `not`, `and`, `or`, `pr`
            (r#"not eq "x""#, eq_str("not", "x")),
            ("and pr", cmp("and", Pr, None)),
            // value paths
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                vp(
                    "emails",
                    and(vec![
                        eq_str("type", "work"),
                        cmp("value", Co, s("@example.com")),
                    ]),
                ),
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                and(vec![
                    eq_str("userType", "Employee"),
                    vp(
                        "emails",
                        and(vec![
                            eq_str("type", "work"),
                            cmp("value", Co, s("@example.com")),
                        ]),
                    ),
                ]),
            ),
            (
                r#"emails[type eq "work"].value eq "a@x.com""#,
                vp(
                    "emails",
                    and(vec![eq_str("type", "work"), eq_str("value", "a@x.com")]),
                ),
            ),
            (
                r#"emails[not (type eq "home")]"#,
                vp("emails", not(eq_str("type", "home"))),
            ),
            (
                r#"members[value eq "u1"]"#,
                vp("members", eq_str("value", "u1")),
            ),
            // Entra's membership / manager checks
            (
                r#"id eq "g" and members eq "u""#,
                and(vec![eq_str("id", "g"), eq_str("members", "u")]),
            ),
            (
                r#"id eq "g" and members[value eq "u"]"#,
                and(vec![eq_str("id", "g"), vp("members", eq_str("value", "u"))]),
            ),
            (r#"members.$ref pr"#, cmp("members.$ref", Pr, None)),
        ];
        for (input, want) in table {
            let got = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn rejects_invalid_filters_with_a_position() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("userName", "operator"),
            ("userName eq", "comparison value"),
            ("userName eq ", "comparison value"),
            (r#"userName xx "a""#, "unknown operator 'xx'"),
            (r#"userName eq "a"#, "unterminated string"),
            ("userName eq bjensen", "is not a comparison value"),
            (r#"userName eq "a" and"#, "attribute path"),
            (r#"userName eq "a" or"#, "attribute path"),
            (r#"userName eq "a" garbage"#, "expected 'and', 'or'"),
            (r#"(userName eq "a""#, "expected ')'"),
            (r#"userName eq "a")"#, "expected 'and', 'or'"),
            (r#"emails[type eq "work""#, "expected ']'"),
            (r#"emails[type[value eq "x"] eq "y"]"#, "cannot be nested"),
            (r#"name.givenName[value eq "x"]"#, "multi-valued"),
            (r#"1name eq "x""#, "not a valid attribute name"),
            (r#"name.given.name eq "x""#, "not a valid attribute name"),
            (r#"urn:x eq "x""#, "schema-qualified"),
            (r#"userName eq "\q""#, "invalid string"),
            ("userName eq \"a\u{7f}\"", "control characters"),
            (r#"userName eq "a\u0085""#, "control characters"),
            (r#"userName eq"x""#, "a space and a comparison value"),
            (r#"not(userName eq "x""#, "expected ')'"),
            (r#"[value eq "x"]"#, "attribute path"),
            (r#"emails[type eq "work"].value"#, "operator"),
        ];
        for (input, fragment) in table {
            let err = parse_filter(input).expect_err(input);
            assert!(
                err.to_string().contains(fragment),
                "{input:?}: {err} does not mention {fragment:?}"
            );
        }
    }

    #[test]
    fn rejects_excessive_nesting() {
        let deep = format!("{}a eq \"1\"{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse_filter(&deep).unwrap_err().message.contains("deeper"));
        let deep_not = format!("{}a eq \"1\"{}", "not (".repeat(10_000), ")".repeat(10_000));
        assert!(parse_filter(&deep_not).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let seeds = [
            r#"emails[type eq "work" and value co "@x"].value eq "é" or not (a pr)"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "\u00""#,
            "((((]]][[[\"\\",
            "ü\u{0}\u{10FFFF}[.]\"",
        ];
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for i in 0..=chars.len() {
                for j in i..=chars.len() {
                    let slice: String = chars[i..j].iter().collect();
                    let _ = parse_filter(&slice);
                    let _ = parse_patch_path(&slice);
                }
            }
        }
        // Deterministic pseudo-random strings over the grammar's alphabet.
        let alphabet: Vec<char> = "ab .[]()\"\\:-$éeqandortpr1 \t".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = parse_filter(&text);
            let _ = parse_patch_path(&text);
        }
    }

    #[test]
    fn parses_patch_paths() {
        let table: Vec<(&str, AttributePath, Option<Filter>)> = vec![
            ("active", path("", "active", ""), None),
            ("name.givenName", path("", "name", "givenName"), None),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
                path("", "displayName", ""),
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                path(ENT, "manager", ""),
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                path(ENT, "employeeNumber", ""),
                None,
            ),
            (
                r#"emails[type eq "work"].value"#,
                path("", "emails", "value"),
                Some(eq_str("type", "work")),
            ),
            (
                r#"members[value eq "x"]"#,
                path("", "members", ""),
                Some(eq_str("value", "x")),
            ),
            (
                r#"addresses[type eq "work" and primary eq true].streetAddress"#,
                path("", "addresses", "streetAddress"),
                Some(and(vec![
                    eq_str("type", "work"),
                    cmp("primary", CompareOp::Eq, Some(Kind::BoolValue(true))),
                ])),
            ),
        ];
        for (input, want_path, want_filter) in table {
            let got = parse_patch_path(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.path, want_path, "{input}");
            assert_eq!(got.value_filter, want_filter, "{input}");
        }
        for bad in [
            "",
            "emails[",
            r#"emails[type eq "work"]x"#,
            r#"emails[type eq "work"]."#,
            "name.",
            "name givenName",
            "9lives",
            r#"emails[type eq "work"].value.x"#,
        ] {
            assert!(parse_patch_path(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod depth_and_length_tests {
    use super::*;

    /// Every filter the parser accepts must also survive protobuf decoding on the way to
    /// the directory (prost stops at 100 nested messages): a decode failure there would be
    /// a 500 for the client.
    #[test]
    fn accepted_filters_fit_through_protobuf() {
        use prost::Message as _;
        for k in 0..40 {
            let filter = format!(
                "{}c pr{}",
                "a pr and not (b pr or d pr and ".repeat(k),
                ")".repeat(k)
            );
            if let Ok(tree) = parse_filter(&filter) {
                let bytes = tree.encode_to_vec();
                assert!(
                    directory_proto::v1::Filter::decode(bytes.as_slice()).is_ok(),
                    "nesting {k} parses but does not decode"
                );
            }
        }
        let too_deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_filter(&too_deep).is_err());
    }
}

/// Properties: printing a generated filter (or PATCH path) and parsing the text gives the
/// same tree back. The printer lives here: only the tests need filter text.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const OPS: &[CompareOp] = &[
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Pr,
    ];

    fn op_text(op: CompareOp) -> &'static str {
        match op {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Pr => "pr",
            CompareOp::Unspecified => unreachable!("never generated"),
        }
    }

    fn print_path(path: &AttributePath) -> String {
        let mut out = String::new();
        if !path.schema.is_empty() {
            out.push_str(&path.schema);
            out.push(':');
        }
        out.push_str(&path.attribute);
        if !path.sub_attribute.is_empty() {
            out.push('.');
            out.push_str(&path.sub_attribute);
        }
        out
    }

    fn print_value(value: &FilterValue) -> String {
        match value.kind.as_ref().expect("generated with a kind") {
            Kind::StringValue(s) => serde_json::to_string(s).unwrap(),
            Kind::BoolValue(b) => b.to_string(),
            Kind::NullValue(_) => "null".to_owned(),
            Kind::NumberValue(n) => format!("{n}"),
        }
    }

    /// Filter text for a tree; every `and`/`or` operand that is itself one is
    /// parenthesised.
    fn print(filter: &Filter) -> String {
        let grouped = |f: &Filter| match f.node {
            Some(Node::And(_) | Node::Or(_)) => format!("({})", print(f)),
            _ => print(f),
        };
        match filter.node.as_ref().expect("generated with a node") {
            Node::Compare(c) => {
                let op = CompareOp::try_from(c.op).unwrap();
                let path = print_path(c.path.as_ref().unwrap());
                match &c.value {
                    Some(value) => format!("{path} {} {}", op_text(op), print_value(value)),
                    None => format!("{path} {}", op_text(op)),
                }
            }
            Node::And(list) => list
                .filters
                .iter()
                .map(grouped)
                .collect::<Vec<_>>()
                .join(" and "),
            Node::Or(list) => list
                .filters
                .iter()
                .map(grouped)
                .collect::<Vec<_>>()
                .join(" or "),
            Node::Not(inner) => format!("not ({})", print(inner)),
            Node::ValuePath(vp) => format!(
                "{}[{}]",
                print_path(vp.path.as_ref().unwrap()),
                print(vp.filter.as_ref().unwrap())
            ),
        }
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z][a-zA-Z0-9_-]{0,7}".prop_filter("not a keyword", |n| {
            !["and", "or", "not", "pr"].contains(&n.to_ascii_lowercase().as_str())
        })
    }

    fn attribute_path() -> impl Strategy<Value = AttributePath> {
        let schema = prop_oneof![
            3 => Just(String::new()),
            1 => Just(super::super::ENTERPRISE_USER_SCHEMA.to_owned()),
            1 => Just("urn:example:params:scim:schemas:extension:acme:2.0:User".to_owned()),
        ];
        let sub = prop_oneof![2 => Just(String::new()), 1 => name()];
        (schema, name(), sub).prop_map(|(schema, attribute, sub_attribute)| AttributePath {
            schema,
            attribute,
            sub_attribute,
        })
    }

    fn value() -> impl Strategy<Value = FilterValue> {
        prop_oneof![
            "[^\\p{Cc}]{0,12}".prop_map(Kind::StringValue),
            any::<bool>().prop_map(Kind::BoolValue),
            Just(Kind::NullValue(true)),
            // Exactly representable in short decimals, so the text is exact.
            (-1_000_000_i64..1_000_000, 0_u8..4)
                .prop_map(|(n, q)| Kind::NumberValue(n as f64 / f64::from(1_u8 << q))),
        ]
        .prop_map(|kind| FilterValue { kind: Some(kind) })
    }

    fn comparison(path: impl Strategy<Value = AttributePath>) -> impl Strategy<Value = Filter> {
        (path, prop::sample::select(OPS), value()).prop_map(|(path, op, value)| Filter {
            node: Some(Node::Compare(Comparison {
                path: Some(path),
                op: op as i32,
                value: (op != CompareOp::Pr).then_some(value),
            })),
        })
    }

    /// `and`/`or` lists of two or more whose operands are not of the same kind (the
    /// parser flattens `a and (b and c)` into one list).
    fn logic(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(|items| list(items, true)),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|items| list(items, false)),
                inner.prop_map(|f| Filter {
                    node: Some(Node::Not(Box::new(f))),
                }),
            ]
        })
        .boxed()
    }

    fn list(items: Vec<Filter>, and: bool) -> Filter {
        let wrap = |filters: Vec<Filter>| {
            if and {
                Node::And(FilterList { filters })
            } else {
                Node::Or(FilterList { filters })
            }
        };
        // An operand of the same kind would be flattened by the parser: it goes behind a
        // `not` instead, which keeps the generated tree in the parser's normal form.
        let filters = items
            .into_iter()
            .map(|f| match (&f.node, and) {
                (Some(Node::And(_)), true) | (Some(Node::Or(_)), false) => Filter {
                    node: Some(Node::Not(Box::new(f))),
                },
                _ => f,
            })
            .collect();
        Filter {
            node: Some(wrap(filters)),
        }
    }

    fn value_filter() -> BoxedStrategy<Filter> {
        let sub = name().prop_map(|attribute| AttributePath {
            schema: String::new(),
            attribute,
            sub_attribute: String::new(),
        });
        logic(comparison(sub).boxed())
    }

    fn filter() -> BoxedStrategy<Filter> {
        let value_path = (attribute_path(), value_filter()).prop_map(|(mut path, inner)| {
            path.sub_attribute.clear();
            Filter {
                node: Some(Node::ValuePath(Box::new(ValuePathFilter {
                    path: Some(path),
                    filter: Some(Box::new(inner)),
                }))),
            }
        });
        let leaf = prop_oneof![3 => comparison(attribute_path()), 1 => value_path].boxed();
        logic(leaf)
    }

    proptest! {
        #[test]
        fn parse_of_print_is_the_identity_on_filters(filter in filter()) {
            let text = print(&filter);
            let parsed = parse_filter(&text);
            prop_assert_eq!(parsed.as_ref(), Ok(&filter), "{}", text);
        }

        #[test]
        fn parse_of_print_is_the_identity_on_patch_paths(
            path in attribute_path(),
            value_filter in prop::option::of(value_filter()),
            sub in prop::option::of(name()),
        ) {
            let mut path = path;
            let mut text = print_path(&AttributePath { sub_attribute: String::new(), ..path.clone() });
            if let Some(inner) = &value_filter {
                text.push_str(&format!("[{}]", print(inner)));
                path.sub_attribute = sub.clone().unwrap_or_default();
                if let Some(sub) = &sub {
                    text.push('.');
                    text.push_str(sub);
                }
            } else if !path.sub_attribute.is_empty() {
                text.push('.');
                text.push_str(&path.sub_attribute);
            }
            let parsed = parse_patch_path(&text);
            prop_assert_eq!(parsed, Ok(PatchPath { path, value_filter }), "{}", text);
        }

        /// Any text: an answer, never a panic.
        #[test]
        fn the_parsers_never_panic(text in "\\PC{0,80}") {
            let _ = parse_filter(&text);
            let _ = parse_patch_path(&text);
        }
    }
}
