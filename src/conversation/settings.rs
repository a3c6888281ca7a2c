//! A session's own settings, as typed in the chat: `/system TEXT`,
//! `/set temperature 0.3`, `/set max_tokens 800`, `/role NAME` (from the
//! config's `[roles.NAME]`), each with `-` to go back to the default.

use std::collections::BTreeMap;

use crate::config::RoleConfig;
use crate::domain::SessionSettings;

/// What a settings command asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show the settings (`/set`, `/system`, `/role` alone).
    Show,
    System(Option<String>),
    Temperature(Option<f32>),
    MaxTokens(Option<u32>),
    /// A role by name, or none (back to the defaults).
    Role(Option<String>),
}

/// The settings command `text` is, if it is one (an error says what is
/// wrong with it).
pub fn parse(text: &str) -> Option<Result<Command, String>> {
    let text = text.trim();
    let (head, rest) = match text.split_once(char::is_whitespace) {
        Some((h, r)) => (h, r.trim()),
        None => (text, ""),
    };
    let reset = rest == "-";
    Some(Ok(match head {
        "/system" if rest.is_empty() => Command::Show,
        "/system" if reset => Command::System(None),
        "/system" => Command::System(Some(rest.to_string())),
        "/role" if rest.is_empty() => Command::Show,
        "/role" if reset => Command::Role(None),
        "/role" => Command::Role(Some(rest.to_string())),
        "/set" if rest.is_empty() => Command::Show,
        "/set" => return Some(parse_set(rest)),
        _ => return None,
    }))
}

fn parse_set(rest: &str) -> Result<Command, String> {
    let (key, value) = rest
        .split_once(char::is_whitespace)
        .map(|(k, v)| (k, v.trim()))
        .unwrap_or((rest, ""));
    let reset = value == "-";
    match key {
        "temperature" if reset => Ok(Command::Temperature(None)),
        "temperature" => value
            .parse::<f32>()
            .ok()
            .filter(|t| (0.0..=2.0).contains(t))
            .map(|t| Command::Temperature(Some(t)))
            .ok_or_else(|| format!("temperature is a number from 0 to 2, not “{value}”")),
        "max_tokens" if reset => Ok(Command::MaxTokens(None)),
        "max_tokens" => value
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Command::MaxTokens(Some(n)))
            .ok_or_else(|| format!("max_tokens is a whole number above 0, not “{value}”")),
        other => Err(format!(
            "/set knows temperature and max_tokens, not “{other}” (/system sets the system prompt, F2 the model)"
        )),
    }
}

/// The settings after `cmd`, and what to tell the user.
pub fn apply(
    cmd: Command,
    current: &SessionSettings,
    defaults: &SessionSettings,
    roles: &BTreeMap<String, RoleConfig>,
) -> Result<(SessionSettings, String), String> {
    let mut s = current.clone();
    let said = match cmd {
        Command::Show => return Ok((s, describe(current, roles))),
        Command::System(text) => {
            let said = match &text {
                Some(_) => "system prompt set for this session",
                None => "system prompt back to the default",
            };
            s.system = text;
            said.to_string()
        }
        Command::Temperature(t) => {
            s.temperature = t;
            match t {
                Some(t) => format!("temperature {t} for this session"),
                None => "temperature back to the provider's default".into(),
            }
        }
        Command::MaxTokens(n) => {
            s.max_tokens = n;
            match n {
                Some(n) => format!("answers up to {n} tokens in this session"),
                None => "answer length back to the default".into(),
            }
        }
        Command::Role(None) => {
            s = defaults.clone();
            "role cleared: the default settings".into()
        }
        Command::Role(Some(name)) => {
            let Some(r) = roles.get(&name) else {
                return Err(match roles.is_empty() {
                    true => format!("no role “{name}”: add [roles.{name}] to the config file"),
                    false => format!(
                        "no role “{name}” (the config has: {})",
                        roles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            };
            s = from_role(&name, r);
            format!("role {name} for this session")
        }
    };
    Ok((s, said))
}

/// The settings a role gives.
pub fn from_role(name: &str, r: &RoleConfig) -> SessionSettings {
    SessionSettings {
        system: r.system.clone().filter(|s| !s.trim().is_empty()),
        model: r.model.clone().filter(|m| !m.trim().is_empty()),
        temperature: r.temperature,
        max_tokens: r.max_tokens,
        sources: r.sources.clone(),
        role: Some(name.to_string()),
    }
}

/// The settings in a line.
pub fn describe(s: &SessionSettings, roles: &BTreeMap<String, RoleConfig>) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &s.role {
        parts.push(format!("role {r}"));
    }
    if let Some(m) = &s.model {
        parts.push(format!("model {m}"));
    }
    if let Some(t) = s.temperature {
        parts.push(format!("temperature {t}"));
    }
    if let Some(n) = s.max_tokens {
        parts.push(format!("max_tokens {n}"));
    }
    if let Some(src) = &s.sources {
        parts.push(format!("sources {}", src.join(",")));
    }
    if let Some(sys) = &s.system {
        parts.push(format!(
            "system “{}”",
            crate::text::truncate(&crate::text::sanitize::one_line(sys), 60)
        ));
    }
    let mut out = if parts.is_empty() {
        "default settings".to_string()
    } else {
        parts.join(" · ")
    };
    if !roles.is_empty() {
        out.push_str(&format!(
            " (roles: {})",
            roles.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// A short tag for the status bar, when anything is not the default.
pub fn tag(s: &SessionSettings) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(r) = &s.role {
        parts.push(format!("role {r}"));
    }
    if s.system.is_some() {
        parts.push("system".to_string());
    }
    if let Some(t) = s.temperature {
        parts.push(format!("T {t}"));
    }
    if let Some(n) = s.max_tokens {
        parts.push(format!("≤{n} tok"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

impl super::Conversation {
    /// This session's settings (or the next session's, before the first
    /// question).
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// New settings for this session, stored with it (or kept for the
    /// session the next question creates). A model in them is used.
    pub fn set_settings(&mut self, settings: SessionSettings, p: super::Ports<'_>) {
        if let Some(m) = &settings.model {
            self.model = m.clone();
        }
        if let Some(s) = self.session.as_mut() {
            *s.settings = settings.clone();
            p.writer.send(crate::store::StoreCommand::SetSettings {
                session: s.id,
                settings: Box::new(settings.clone()),
            });
        }
        self.settings = settings;
    }

    /// `/system`, `/set`, `/role` typed as a question: applied (and
    /// stored), and what to tell the user; None when `text` is none of them.
    pub fn settings_command(
        &mut self,
        text: &str,
        p: super::Ports<'_>,
    ) -> Option<Result<String, String>> {
        let cmd = match parse(text)? {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        Some(
            apply(cmd, &self.settings, &self.defaults, &self.roles).map(|(s, said)| {
                if s != self.settings {
                    self.set_settings(s, p);
                }
                said
            }),
        )
    }

    /// The settings a session starts with: the role named (from the
    /// config), or none. An unknown role is an error naming the known ones.
    pub fn start_with_role(&mut self, role: &str) -> Result<(), String> {
        let role = role.trim();
        self.defaults = if role.is_empty() {
            SessionSettings::default()
        } else {
            let r = self.roles.get(role).ok_or_else(|| {
                format!(
                    "no role “{role}” in the config (known: {})",
                    self.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            from_role(role, r)
        };
        self.use_defaults();
        Ok(())
    }

    /// F2: the model for this session's next answers, kept with it.
    pub fn choose_model(&mut self, model: String, p: super::Ports<'_>) {
        let mut s = self.settings.clone();
        s.model = Some(model);
        self.set_settings(s, p);
    }

    /// Settings back to the defaults (a new session).
    pub fn use_defaults(&mut self) {
        self.settings = self.defaults.clone();
        if let Some(m) = &self.settings.model {
            self.model = m.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_clear_errors() {
        assert_eq!(
            parse("/system Answer in French."),
            Some(Ok(Command::System(Some("Answer in French.".into()))))
        );
        assert_eq!(parse("/system -"), Some(Ok(Command::System(None))));
        assert_eq!(
            parse("/set temperature 0.3"),
            Some(Ok(Command::Temperature(Some(0.3))))
        );
        assert_eq!(
            parse("/set max_tokens 800"),
            Some(Ok(Command::MaxTokens(Some(800))))
        );
        assert!(
            parse("/set temperature 7")
                .unwrap()
                .unwrap_err()
                .contains("0 to 2")
        );
        assert!(
            parse("/set colour red")
                .unwrap()
                .unwrap_err()
                .contains("not “colour”")
        );
        assert_eq!(parse("/role"), Some(Ok(Command::Show)));
        assert_eq!(parse("what is /set?"), None);
        assert_eq!(parse("/deep why"), None);
    }

    #[test]
    fn a_role_replaces_the_settings_and_an_unknown_one_is_named() {
        let mut roles = BTreeMap::new();
        roles.insert(
            "editor".to_string(),
            RoleConfig {
                system: Some("Be terse.".into()),
                temperature: Some(0.2),
                sources: Some(vec!["wiki".into()]),
                ..RoleConfig::default()
            },
        );
        let none = SessionSettings::default();
        let (s, said) = apply(Command::Role(Some("editor".into())), &none, &none, &roles).unwrap();
        assert_eq!(s.system.as_deref(), Some("Be terse."));
        assert_eq!(s.role.as_deref(), Some("editor"));
        assert_eq!(said, "role editor for this session");
        assert_eq!(tag(&s).as_deref(), Some("role editor system T 0.2"));
        let err = apply(Command::Role(Some("x".into())), &none, &none, &roles).unwrap_err();
        assert!(err.contains("the config has: editor"), "{err}");
        let (s, _) = apply(Command::Temperature(Some(0.9)), &s, &none, &roles).unwrap();
        assert_eq!(s.temperature, Some(0.9));
        assert_eq!(s.system.as_deref(), Some("Be terse."), "the rest kept");
        assert_eq!(tag(&SessionSettings::default()), None);
    }
}
