//! The `filter` language of ListDashboards: a documented subset of AIP-160.
//!
//! ```text
//! expression  := sequence { "AND" sequence }
//! sequence    := factor { factor }            (juxtaposition means AND)
//! factor      := term { "OR" term }           (OR binds tighter than AND, as in AIP-160)
//! term        := [ "NOT" | "-" ] simple
//! simple      := "(" expression ")" | field comparator value
//! comparator  := ":" | "=" | "!=" | "<" | "<=" | ">" | ">="
//! value       := "double-quoted" | 'single-quoted' | bare-word
//! ```
//!
//! Fields: `title`, `description` (`:` is a case-insensitive substring match; `=`, `!=`),
//! `creator`, `owner` (`=`, `!=` with `users/{id}`; `users/me` is the caller),
//! `create_time`, `update_time` (`=` `!=` `<` `<=` `>` `>=` with an RFC 3339 time),
//! `shared_with_me` (`= true|false`), `starred` (`= true|false`: the caller starred it),
//! `visibility` (`= public|private`), `label` (`=`, `!=` with a label's display name or
//! `labels/{id}`: the dashboard carries it), `folder` (`=`, `!=` with `folders/{id}`: the folder
//! holding it), `ancestor` (`=`, `!=` with `folders/{id}`: that folder or one below it holds
//! it). Values are data, never SQL: `%`, `_` and quotes match
//! themselves. The parse produces a tree; the store turns it into bound parameters.

use super::error::echo;
use super::{Error, Micros, Result, names};

pub const MAX_FILTER_CHARS: usize = 2_000;
const MAX_DEPTH: usize = 32;

/// The most a filter may cost, as comparisons x the subjects the caller's access goes
/// through (itself, each of its groups, its tenant, the org-wide audiences). A listing tests
/// the filter once per readable dashboard it walks, and the caller's subjects multiply both
/// the dashboards walked and what `shared_with_me` reads; within 2,000 characters a filter
/// can hold a few hundred comparisons, so without a bound one call could cost seconds.
pub const MAX_FILTER_COST: usize = 2_000;

/// A parsed filter over comparisons `C`: ListDashboards' by default; the same language
/// serves other listings with their own fields (see [`parse_with`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter<C = Comparison> {
    And(Box<Filter<C>>, Box<Filter<C>>),
    Or(Box<Filter<C>>, Box<Filter<C>>),
    Not(Box<Filter<C>>),
    Compare(C),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Case-insensitive substring match on a text field.
    TextContains(TextField, String),
    TextEquals(TextField, String, bool),
    /// `creator = users/{id}` (`true`) or `!=` (`false`); id `me` is the caller.
    CreatorEquals(String, bool),
    /// `owner = users/{id}`: the user holds `roles/owner` directly.
    OwnerEquals(String, bool),
    /// `shared_with_me = true`, `starred = true`, `visibility = public` and their negations.
    Flag(Flag, bool),
    Time(TimeField, Ordering, Micros),
    /// `label = "prod"` / `label = "labels/{id}"` (`true`) or `!=` (`false`): the dashboard
    /// carries the label.
    Label(LabelRef, bool),
    /// `folder = "folders/{id}"` (its folder) or `ancestor = "folders/{id}"` (its folder or
    /// one above it), `true`; `!=`, `false`.
    Folder(FolderScope, String, bool),
}

/// Which folders a `folder` / `ancestor` comparison looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderScope {
    /// The folder holding the dashboard.
    Direct,
    /// The folder holding the dashboard or any folder above it.
    Subtree,
}

/// A label as a filter names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelRef {
    /// `labels/{id}`.
    Id(String),
    /// A display name.
    DisplayName(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Readable through a share and not created by the caller.
    SharedWithMe,
    /// Has an unexpired public link.
    Public,
    /// Starred by the caller.
    Starred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Title,
    Description,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    CreateTime,
    UpdateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl<C> Filter<C> {
    /// The number of comparisons (leaves) in the tree.
    pub fn comparisons(&self) -> usize {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.comparisons() + b.comparisons(),
            Filter::Not(inner) => inner.comparisons(),
            Filter::Compare(_) => 1,
        }
    }
}

/// INVALID_ARGUMENT on `filter` when its comparisons times the caller's `subjects` exceed
/// [`MAX_FILTER_COST`].
pub fn check_cost<C>(filter: &Filter<C>, subjects: usize) -> Result<()> {
    let comparisons = filter.comparisons();
    let subjects = subjects.max(1);
    let cost = comparisons.saturating_mul(subjects);
    if cost > MAX_FILTER_COST {
        return Err(bad(format!(
            "too costly: {comparisons} comparisons x {subjects} access paths of the caller \
             (itself, its groups, its tenant, the org-wide audiences) = {cost}, over the limit \
             of {MAX_FILTER_COST}; use at most {} comparisons",
            (MAX_FILTER_COST / subjects).max(1)
        )));
    }
    Ok(())
}

/// Parses a ListDashboards filter; an empty or blank string is no filter.
pub fn parse(input: &str) -> Result<Option<Filter>> {
    parse_with(input, comparison)
}

/// Builds one comparison from `field`, the comparator and the value.
pub type CompareFn<C> = fn(&str, &str, String) -> Result<C>;

/// Parses a filter whose comparisons `compare` builds; an empty or blank string is no filter.
pub fn parse_with<C>(input: &str, compare: CompareFn<C>) -> Result<Option<Filter<C>>> {
    if input.chars().count() > MAX_FILTER_CHARS {
        return Err(bad(format!(
            "must be at most {MAX_FILTER_CHARS} characters"
        )));
    }
    let tokens = lex(input)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        compare,
    };
    let filter = parser.expression()?;
    if let Some(token) = parser.peek() {
        return Err(bad(format!("unexpected {}", token.describe())));
    }
    Ok(Some(filter))
}

pub fn bad(description: impl Into<String>) -> Error {
    Error::invalid("filter", description)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    Minus,
    Comparator(&'static str),
    Quoted(String),
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::Minus => "'-'".into(),
            Token::Comparator(c) => format!("'{c}'"),
            Token::Quoted(s) => format!("string {}", echo(s)),
            Token::Word(w) => echo(w),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w == keyword)
    }
}

fn lex(input: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::LParen);
            }
            ')' => {
                chars.next();
                tokens.push(Token::RParen);
            }
            '-' if tokens
                .last()
                .is_none_or(|t| !matches!(t, Token::Comparator(_))) =>
            {
                chars.next();
                tokens.push(Token::Minus);
            }
            ':' | '=' => {
                chars.next();
                tokens.push(Token::Comparator(if c == ':' { ":" } else { "=" }));
            }
            '!' | '<' | '>' => {
                chars.next();
                let with_eq = chars.peek() == Some(&'=');
                if with_eq {
                    chars.next();
                }
                tokens.push(Token::Comparator(match (c, with_eq) {
                    ('!', true) => "!=",
                    ('<', false) => "<",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    ('>', true) => ">=",
                    _ => return Err(bad("'!' must be followed by '=' (use NOT to negate)")),
                }));
            }
            '"' | '\'' => {
                let quote = c;
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(bad("unterminated string")),
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err(bad("unterminated string")),
                        },
                        Some(ch) if ch == quote => break,
                        Some(ch) => value.push(ch),
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            _ => {
                let mut word = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace()
                        || matches!(ch, '(' | ')' | ':' | '=' | '!' | '<' | '>' | '"' | '\'')
                    {
                        break;
                    }
                    word.push(ch);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser<C> {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    compare: CompareFn<C>,
}

impl<C> Parser<C> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expression(&mut self) -> Result<Filter<C>> {
        let mut left = self.sequence()?;
        while self.peek().is_some_and(|t| t.is_keyword("AND")) {
            self.next();
            let right = self.sequence()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn sequence(&mut self) -> Result<Filter<C>> {
        let mut left = self.factor()?;
        while self
            .peek()
            .is_some_and(|t| !matches!(t, Token::RParen) && !t.is_keyword("AND"))
        {
            let right = self.factor()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Filter<C>> {
        let mut left = self.term()?;
        while self.peek().is_some_and(|t| t.is_keyword("OR")) {
            self.next();
            let right = self.term()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter<C>> {
        if self
            .peek()
            .is_some_and(|t| t.is_keyword("NOT") || *t == Token::Minus)
        {
            self.next();
            return Ok(Filter::Not(Box::new(self.simple()?)));
        }
        self.simple()
    }

    fn simple(&mut self) -> Result<Filter<C>> {
        match self.next() {
            Some(Token::LParen) => {
                // The depth is the number of open parentheses (the recursion it bounds).
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(bad(format!(
                        "nests deeper than {MAX_DEPTH} levels of parentheses"
                    )));
                }
                let inner = self.expression()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err(bad("missing ')'")),
                }
            }
            Some(Token::Word(field)) if !["AND", "OR", "NOT"].contains(&field.as_str()) => {
                let comparator = match self.next() {
                    Some(Token::Comparator(c)) => c,
                    _ => {
                        return Err(bad(format!(
                            "expected a comparison after {}, like title:\"ops\"",
                            echo(&field)
                        )));
                    }
                };
                let value = match self.next() {
                    Some(Token::Quoted(v)) | Some(Token::Word(v)) => v,
                    _ => {
                        return Err(bad(format!(
                            "expected a value after {}{comparator}",
                            echo(&field)
                        )));
                    }
                };
                (self.compare)(&field, comparator, value).map(Filter::Compare)
            }
            Some(other) => Err(bad(format!("unexpected {}", other.describe()))),
            None => Err(bad("unexpected end of filter")),
        }
    }
}

/// `=` (or `:`) is true, `!=` false; other comparators are refused for `field`.
pub fn equality(field: &str, comparator: &str) -> Result<bool> {
    match comparator {
        "=" | ":" => Ok(true),
        "!=" => Ok(false),
        _ => Err(bad(format!(
            "{field} supports '=' and '!=', not '{comparator}'"
        ))),
    }
}

/// A time comparison: the ordering and an RFC 3339 time in microseconds.
pub fn time_comparison(field: &str, comparator: &str, value: &str) -> Result<(Ordering, Micros)> {
    let ordering = match comparator {
        "=" => Ordering::Eq,
        "!=" => Ordering::Ne,
        "<" => Ordering::Lt,
        "<=" => Ordering::Le,
        ">" => Ordering::Gt,
        ">=" => Ordering::Ge,
        _ => {
            return Err(bad(format!(
                "{field} supports = != < <= > >=, not '{comparator}'"
            )));
        }
    };
    let time = chrono::DateTime::parse_from_rfc3339(value).map_err(|_| {
        bad(format!(
            "{field} needs an RFC 3339 time like \"2026-01-31T00:00:00Z\", got {}",
            echo(value)
        ))
    })?;
    Ok((ordering, time.timestamp_micros()))
}

fn comparison(field: &str, comparator: &str, value: String) -> Result<Comparison> {
    let text_field = match field {
        "title" => Some(TextField::Title),
        "description" => Some(TextField::Description),
        _ => None,
    };
    if let Some(text_field) = text_field {
        return match comparator {
            ":" => Ok(Comparison::TextContains(text_field, value)),
            "=" => Ok(Comparison::TextEquals(text_field, value, true)),
            "!=" => Ok(Comparison::TextEquals(text_field, value, false)),
            _ => Err(bad(format!(
                "{field} supports ':', '=' and '!=', not '{comparator}'"
            ))),
        };
    }
    let time_field = match field {
        "create_time" => Some(TimeField::CreateTime),
        "update_time" => Some(TimeField::UpdateTime),
        _ => None,
    };
    if let Some(time_field) = time_field {
        let (ordering, time) = time_comparison(field, comparator, &value)?;
        return Ok(Comparison::Time(time_field, ordering, time));
    }
    let equal = || equality(field, comparator);
    match field {
        "creator" => {
            let id = names::parse_user_name("filter", &value)?;
            Ok(Comparison::CreatorEquals(id, equal()?))
        }
        "owner" => {
            let id = names::parse_user_name("filter", &value)?;
            Ok(Comparison::OwnerEquals(id, equal()?))
        }
        "shared_with_me" | "starred" => {
            let flag = if field == "starred" {
                Flag::Starred
            } else {
                Flag::SharedWithMe
            };
            let value = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(bad(format!("{field} takes true or false"))),
            };
            Ok(Comparison::Flag(flag, value == equal()?))
        }
        "visibility" => {
            let public = match value.to_ascii_lowercase().as_str() {
                "public" => true,
                "private" => false,
                _ => return Err(bad("visibility takes public or private")),
            };
            Ok(Comparison::Flag(Flag::Public, public == equal()?))
        }
        "label" => {
            let label = match value.strip_prefix("labels/") {
                Some(id) if names::is_valid_id(id) => LabelRef::Id(id.to_string()),
                _ if value.is_empty() => return Err(bad("label takes a name or labels/{id}")),
                _ => LabelRef::DisplayName(value),
            };
            Ok(Comparison::Label(label, equal()?))
        }
        "folder" | "ancestor" => {
            let id = super::folder::parse_folder_name("filter", &value)?;
            let scope = if field == "folder" {
                FolderScope::Direct
            } else {
                FolderScope::Subtree
            };
            Ok(Comparison::Folder(scope, id, equal()?))
        }
        _ => Err(bad(format!(
            "unknown field {}: filterable fields are title, description, creator, owner, \
             create_time, update_time, shared_with_me, starred, visibility, label, folder, \
             ancestor",
            echo(field)
        ))),
    }
}

#[cfg(test)]
mod tests;
