//! Workflow commands in step output (`::name key=value::message`): parsing one line as the GitHub
//! runner does (`ActionCommand.TryParseV2`), and the `::stop-commands::` state. Pure.
//!
//! Only the `::` form is recognised. The legacy `##[name]data` form, which the GitHub runner
//! still accepts anywhere in a line, is deliberately not processed here: it is ordinary output.
//! (When mlops-ci itself runs inside GitHub Actions, the outer runner *does* parse it, so the
//! caller must forward child output inside a `::stop-commands::` envelope.)

/// An annotation from `::error`, `::warning` or `::notice`, after the runner's validation of
/// lines and columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotation {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub end_line: Option<u32>,
    pub col: Option<u32>,
    pub end_column: Option<u32>,
    pub title: Option<String>,
}

/// A recognised workflow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Error(Annotation),
    Warning(Annotation),
    Notice(Annotation),
    /// Shown only in debug mode.
    Debug(String),
    Group(String),
    EndGroup,
    /// The value to mask (unescaped, untrimmed; [`super::mask::Masker::add`] trims it).
    AddMask(String),
    /// Stop processing commands until a line `::TOKEN::`.
    StopCommands(String),
    /// The `::TOKEN::` line that resumes processing (only from [`CommandState::process`]).
    ResumeCommands(String),
    /// `::echo::on` / `::echo::off`.
    Echo(bool),
    /// `set-output`, `save-state`, `set-env`, `add-path`: the old forms of the file commands
    /// (`$GITHUB_OUTPUT`, `$GITHUB_STATE`, `$GITHUB_ENV`, `$GITHUB_PATH`), with their `name`
    /// property (none for `add-path`) and data. The runner decides which it still honours.
    Deprecated {
        command: String,
        name: Option<String>,
        value: String,
    },
    /// `add-matcher`, `remove-matcher`: recognised, not supported yet.
    Unsupported(String),
    /// A recognised command with a value the runner rejects (`::echo::maybe`, an unsafe stop
    /// token). `message` never contains the command's data.
    Invalid {
        name: String,
        message: String,
    },
}

/// Command names the runner registers (matched case-insensitively).
const COMMAND_NAMES: &[&str] = &[
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

/// A line split into its command name, raw properties and unescaped data.
struct RawCommand<'a> {
    name: &'a str,
    properties: Vec<(&'a str, String)>,
    data: String,
}

impl RawCommand<'_> {
    /// The last value of a property, names compared case-insensitively.
    fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `::name props::data` after trimming leading whitespace; `None` if the line is not in
/// that shape. Does not check the name.
fn split(line: &str) -> Option<RawCommand<'_>> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let data = unescape_data(&rest[end + 2..]);
    let (name, props) = match info.find(' ') {
        Some(space) => (&info[..space], Some(&info[space + 1..])),
        None => (info, None),
    };
    let mut properties = Vec::new();
    if let Some(props) = props {
        for pair in props.trim().split(',').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((key, value)) if !key.is_empty() && !value.is_empty() => {
                    properties.push((key, unescape_property(value)));
                }
                _ => {}
            }
        }
    }
    Some(RawCommand {
        name,
        properties,
        data,
    })
}

/// The runner's data unescaping, in its order (`%25` last, so `%250A` stays `%0A`).
fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn is_command_name(name: &str) -> bool {
    COMMAND_NAMES.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Parses one line of step output, without stop-commands state. A line whose name is not a
/// known command is not a command (`None`): it is ordinary output.
pub fn parse_line(line: &str) -> Option<Command> {
    let raw = split(line)?;
    if !is_command_name(raw.name) {
        return None;
    }
    let name = raw.name.to_ascii_lowercase();
    let command = match name.as_str() {
        "error" => Command::Error(annotation(&raw)),
        "warning" => Command::Warning(annotation(&raw)),
        "notice" => Command::Notice(annotation(&raw)),
        "debug" => Command::Debug(raw.data),
        "group" => Command::Group(raw.data),
        "endgroup" => Command::EndGroup,
        "add-mask" => Command::AddMask(raw.data),
        "stop-commands" => Command::StopCommands(raw.data),
        "echo" => match raw.data.trim().to_ascii_lowercase().as_str() {
            "on" => Command::Echo(true),
            "off" => Command::Echo(false),
            _ => Command::Invalid {
                name,
                message: "invalid `echo` value: expected `on` or `off`".to_owned(),
            },
        },
        "add-matcher" | "remove-matcher" => Command::Unsupported(name),
        // "set-output" | "save-state" | "set-env" | "add-path"
        _ => Command::Deprecated {
            name: raw.property("name").map(str::to_owned),
            value: raw.data,
            command: name,
        },
    };
    Some(command)
}

fn number(raw: &RawCommand<'_>, key: &str) -> Option<u32> {
    raw.property(key)?
        .trim()
        .trim_start_matches('+')
        .parse()
        .ok()
}

/// Builds an annotation with the runner's `ValidateLinesAndColumns` rules.
fn annotation(raw: &RawCommand<'_>) -> Annotation {
    let mut line = number(raw, "line");
    let mut end_line = number(raw, "endLine");
    let mut col = number(raw, "col");
    let mut end_column = number(raw, "endColumn");
    let has_column = col.is_some() || end_column.is_some();
    if line.is_none() && end_line.is_some() {
        line = end_line;
    }
    if col.is_none() && end_column.is_some() {
        col = end_column;
    }
    if line.is_none() && has_column {
        col = None;
        end_column = None;
    }
    if end_line.is_some() && line != end_line && has_column {
        col = None;
        end_column = None;
    }
    if matches!((line, end_line), (Some(start), Some(end)) if end < start) {
        line = None;
        end_line = None;
    }
    if matches!((col, end_column), (Some(start), Some(end)) if end < start) {
        col = None;
        end_column = None;
    }
    let non_empty = |key: &str| {
        raw.property(key)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Annotation {
        message: raw.data.clone(),
        file: non_empty("file"),
        line,
        end_line,
        col,
        end_column,
        title: non_empty("title"),
    }
}

/// Command processing across the lines of one step: `::stop-commands::TOKEN` and `::echo::`.
#[derive(Debug, Clone, Default)]
pub struct CommandState {
    stop_token: Option<String>,
    echo: bool,
}

impl CommandState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a line in the current state. While commands are stopped, the only command is the
    /// `::TOKEN::` line (any properties or data, name compared case-insensitively), returned as
    /// [`Command::ResumeCommands`]; every other line is ordinary output (`None`).
    ///
    /// A stop token that is empty, `pause-logging`, or a command name is refused as
    /// [`Command::Invalid`] and does not stop processing.
    pub fn process(&mut self, line: &str) -> Option<Command> {
        if let Some(token) = &self.stop_token {
            let raw = split(line)?;
            if !raw.name.eq_ignore_ascii_case(token) {
                return None;
            }
            let token = self.stop_token.take().unwrap_or_default();
            return Some(Command::ResumeCommands(token));
        }
        let command = parse_line(line)?;
        match &command {
            Command::StopCommands(token) => {
                if let Some(message) = invalid_stop_token(token) {
                    return Some(Command::Invalid {
                        name: "stop-commands".to_owned(),
                        message,
                    });
                }
                self.stop_token = Some(token.clone());
            }
            Command::Echo(on) => self.echo = *on,
            _ => {}
        }
        Some(command)
    }

    /// Whether commands are stopped (waiting for the resume token).
    pub fn is_stopped(&self) -> bool {
        self.stop_token.is_some()
    }

    /// Whether `::echo::on` is in effect: recognised command lines are then echoed (with
    /// `::add-mask::***` in place of a mask's value).
    pub fn echo(&self) -> bool {
        self.echo
    }
}

fn invalid_stop_token(token: &str) -> Option<String> {
    if token.is_empty() {
        Some("the `stop-commands` token must not be empty".to_owned())
    } else if token.eq_ignore_ascii_case("pause-logging") || is_command_name(token) {
        Some(format!(
            "`{}` cannot be a `stop-commands` token; use a random, unique token",
            token.to_ascii_lowercase()
        ))
    } else if token.contains("::") {
        Some("a `stop-commands` token must not contain `::`".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(message: &str) -> Annotation {
        Annotation {
            message: message.to_owned(),
            ..Annotation::default()
        }
    }

    #[test]
    fn plain_output_is_not_a_command() {
        for line in [
            "",
            "hello",
            ": not :: a command",
            "::",
            "::error",
            "::unknown::x",
            "::errors::x",
            "x ::error::y",
            "##[add-mask]foo",
            "##[error]boom",
            "::internal-set-repo-path::x",
        ] {
            assert_eq!(parse_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn annotations_with_properties() {
        assert_eq!(
            parse_line("::error file=app.js,line=100,col=30::Hello error!"),
            Some(Command::Error(Annotation {
                message: "Hello error!".to_owned(),
                file: Some("app.js".to_owned()),
                line: Some(100),
                col: Some(30),
                ..Annotation::default()
            }))
        );
        assert_eq!(
            parse_line("::warning title=T%3A1%2C2,file=a.py,line=3,endLine=3,col=1,endColumn=9::w"),
            Some(Command::Warning(Annotation {
                message: "w".to_owned(),
                file: Some("a.py".to_owned()),
                line: Some(3),
                end_line: Some(3),
                col: Some(1),
                end_column: Some(9),
                title: Some("T:1,2".to_owned()),
            }))
        );
        assert_eq!(parse_line("::notice::n"), Some(Command::Notice(ann("n"))));
    }

    #[test]
    fn names_and_property_keys_are_case_insensitive_and_leading_space_is_trimmed() {
        assert_eq!(
            parse_line("   ::ERROR FILE=x.rs,Line=2::m"),
            Some(Command::Error(Annotation {
                message: "m".to_owned(),
                file: Some("x.rs".to_owned()),
                line: Some(2),
                ..Annotation::default()
            }))
        );
    }

    #[test]
    fn data_and_property_unescaping() {
        assert_eq!(
            parse_line("::debug::a%0Ab%0Dc%25d%3Ae%2Cf"),
            Some(Command::Debug("a\nb\rc%d%3Ae%2Cf".to_owned()))
        );
        // `%25` is unescaped last: `%250A` is a literal `%0A`.
        assert_eq!(
            parse_line("::debug::%250A"),
            Some(Command::Debug("%0A".to_owned()))
        );
        // Data may contain `::`; it is everything after the second `::`.
        assert_eq!(
            parse_line("::group::a::b"),
            Some(Command::Group("a::b".to_owned()))
        );
    }

    #[test]
    fn malformed_properties_are_ignored() {
        assert_eq!(
            parse_line("::error file=,=3,line,,title=a=b::m"),
            Some(Command::Error(Annotation {
                message: "m".to_owned(),
                title: Some("a=b".to_owned()),
                ..Annotation::default()
            }))
        );
        assert_eq!(
            parse_line("::error line=abc::m"),
            Some(Command::Error(ann("m")))
        );
    }

    #[test]
    fn line_and_column_validation_follows_the_runner() {
        let parse = |l: &str| match parse_line(l) {
            Some(Command::Error(a)) => a,
            other => panic!("{other:?}"),
        };
        // endLine without line: line = endLine.
        let a = parse("::error endLine=5::m");
        assert_eq!((a.line, a.end_line), (Some(5), Some(5)));
        // endColumn without col: col = endColumn.
        let a = parse("::error line=1,endColumn=4::m");
        assert_eq!((a.col, a.end_column), (Some(4), Some(4)));
        // Columns without a line are dropped.
        let a = parse("::error col=3::m");
        assert_eq!((a.line, a.col, a.end_column), (None, None, None));
        // Columns are dropped when line != endLine.
        let a = parse("::error line=1,endLine=2,col=3,endColumn=4::m");
        assert_eq!((a.line, a.end_line, a.col), (Some(1), Some(2), None));
        // endLine before line: both dropped.
        let a = parse("::error line=5,endLine=2::m");
        assert_eq!((a.line, a.end_line), (None, None));
        // endColumn before col: both dropped.
        let a = parse("::error line=5,col=9,endColumn=2::m");
        assert_eq!((a.line, a.col, a.end_column), (Some(5), None, None));
    }

    #[test]
    fn other_commands() {
        assert_eq!(parse_line("::endgroup::"), Some(Command::EndGroup));
        assert_eq!(
            parse_line("::add-mask::secret value"),
            Some(Command::AddMask("secret value".to_owned()))
        );
        assert_eq!(parse_line("::echo::ON "), Some(Command::Echo(true)));
        assert_eq!(parse_line("::echo::off"), Some(Command::Echo(false)));
        assert!(matches!(
            parse_line("::echo::maybe"),
            Some(Command::Invalid { name, .. }) if name == "echo"
        ));
        for (line, command, name, value) in [
            (
                "::set-output name=zoo::zar",
                "set-output",
                Some("zoo"),
                "zar",
            ),
            ("::set-env name=foo::bar", "set-env", Some("foo"), "bar"),
            ("::Add-Path::/zip", "add-path", None, "/zip"),
            ("::save-state name=a::b", "save-state", Some("a"), "b"),
        ] {
            assert_eq!(
                parse_line(line),
                Some(Command::Deprecated {
                    command: command.to_owned(),
                    name: name.map(str::to_owned),
                    value: value.to_owned()
                }),
                "{line}"
            );
        }
        assert_eq!(
            parse_line("::add-matcher::m.json"),
            Some(Command::Unsupported("add-matcher".to_owned()))
        );
    }

    #[test]
    fn stop_commands_suspends_processing_until_the_token() {
        // The act `commands` vector.
        let mut state = CommandState::new();
        assert_eq!(
            state.process("::stop-commands::my-end-token"),
            Some(Command::StopCommands("my-end-token".to_owned()))
        );
        assert!(state.is_stopped());
        assert_eq!(state.process("::set-env name=foo::baz"), None);
        assert_eq!(state.process("::add-mask::not-a-mask"), None);
        assert_eq!(state.process("::error::no"), None);
        assert_eq!(state.process("::stop-commands::other"), None);
        assert_eq!(state.process("##[my-end-token]"), None);
        assert_eq!(
            state.process("  ::MY-END-TOKEN::"),
            Some(Command::ResumeCommands("my-end-token".to_owned()))
        );
        assert!(!state.is_stopped());
        assert_eq!(
            state.process("::set-env name=foo::baz"),
            Some(Command::Deprecated {
                command: "set-env".to_owned(),
                name: Some("foo".to_owned()),
                value: "baz".to_owned()
            })
        );
        // The token is no command once resumed.
        assert_eq!(state.process("::my-end-token::"), None);
    }

    #[test]
    fn unsafe_stop_tokens_are_refused() {
        for line in [
            "::stop-commands::",
            "::stop-commands::pause-logging",
            "::stop-commands::add-mask",
            "::stop-commands::Error",
        ] {
            let mut state = CommandState::new();
            assert!(
                matches!(state.process(line), Some(Command::Invalid { .. })),
                "{line}"
            );
            assert!(!state.is_stopped(), "{line}");
            assert_eq!(
                state.process("::add-mask::abcd"),
                Some(Command::AddMask("abcd".to_owned()))
            );
        }
    }

    #[test]
    fn echo_state_is_tracked() {
        let mut state = CommandState::new();
        assert!(!state.echo());
        state.process("::echo::on");
        assert!(state.echo());
        state.process("::echo::off");
        assert!(!state.echo());
    }
}
