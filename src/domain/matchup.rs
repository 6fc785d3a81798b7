//! A validated match description: the part of a simulation request that names the match.

use super::engine::MatchParams;

pub const MAX_TEAM_NAME_CHARS: usize = 64;
pub const MAX_RATING: f64 = 3_000.0;
pub const MAX_HOME_ADVANTAGE: f64 = 300.0;
pub const DEFAULT_HOME_ADVANTAGE: f64 = 100.0;
pub const DEFAULT_SPORT: &str = "football";
/// Sports the model is calibrated for (the draw band is a football one).
pub const SPORTS: &[&str] = &[DEFAULT_SPORT];

/// A field that failed validation, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: String,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for InvalidField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A match with every default filled in and every value in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Matchup {
    pub home_team: String,
    pub away_team: String,
    pub home_rating: f64,
    pub away_rating: f64,
    pub home_advantage: f64,
    pub sport: String,
}

/// The raw fields of a match as a client may send them.
#[derive(Debug, Clone, Default)]
pub struct MatchupInput<'a> {
    pub home_team: &'a str,
    pub away_team: &'a str,
    pub home_rating: f64,
    pub away_rating: f64,
    pub home_advantage: Option<f64>,
    pub sport: Option<&'a str>,
}

impl Matchup {
    /// Validates `input`; `path` prefixes field names in errors (e.g. `event.`).
    pub fn parse(input: MatchupInput<'_>, path: &str) -> Result<Self, InvalidField> {
        let field = |name: &str| format!("{path}{name}");
        let team = |name: &str, value: &str| {
            let trimmed = value.trim();
            // The raw length is bounded too, so a name the schema rejects is never accepted.
            let chars = trimmed.chars().count();
            if chars == 0 || value.chars().count() > MAX_TEAM_NAME_CHARS {
                return Err(InvalidField::new(
                    field(name),
                    format!("must be at most {MAX_TEAM_NAME_CHARS} characters and not blank"),
                ));
            }
            if value.chars().any(|c| c < ' ' || c == '\u{7f}') {
                return Err(InvalidField::new(
                    field(name),
                    "must not contain control characters",
                ));
            }
            Ok(trimmed.to_owned())
        };
        let rating = |name: &str, value: f64, max: f64| {
            if value.is_finite() && (0.0..=max).contains(&value) {
                Ok(value)
            } else {
                Err(InvalidField::new(
                    field(name),
                    format!("must be a number from 0 to {max}"),
                ))
            }
        };
        let sport = match input.sport.map(str::trim) {
            None => DEFAULT_SPORT.to_owned(),
            Some(sport) => {
                let lower = sport.to_ascii_lowercase();
                if !SPORTS.contains(&lower.as_str()) {
                    return Err(InvalidField::new(
                        field("sport"),
                        format!("must be one of: {}", SPORTS.join(", ")),
                    ));
                }
                lower
            }
        };
        Ok(Self {
            home_team: team("home_team", input.home_team)?,
            away_team: team("away_team", input.away_team)?,
            home_rating: rating("home_rating", input.home_rating, MAX_RATING)?,
            away_rating: rating("away_rating", input.away_rating, MAX_RATING)?,
            home_advantage: rating(
                "home_advantage",
                input.home_advantage.unwrap_or(DEFAULT_HOME_ADVANTAGE),
                MAX_HOME_ADVANTAGE,
            )?,
            sport,
        })
    }

    pub fn params(&self) -> MatchParams {
        MatchParams {
            home_rating: self.home_rating,
            away_rating: self.away_rating,
            home_advantage: self.home_advantage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MatchupInput<'static> {
        MatchupInput {
            home_team: "  Barcelona ",
            away_team: "Real Madrid",
            home_rating: 2100.0,
            away_rating: 2050.0,
            home_advantage: None,
            sport: None,
        }
    }

    #[test]
    fn defaults_are_filled_and_names_trimmed() {
        let m = Matchup::parse(input(), "event.").unwrap();
        assert_eq!(m.home_team, "Barcelona");
        assert_eq!(m.home_advantage, DEFAULT_HOME_ADVANTAGE);
        assert_eq!(m.sport, "football");
    }

    #[test]
    fn each_invalid_field_is_named() {
        let long = "x".repeat(65);
        let cases: [(MatchupInput, &str); 6] = [
            (
                MatchupInput {
                    home_team: "   ",
                    ..input()
                },
                "event.home_team",
            ),
            (
                MatchupInput {
                    away_team: &long,
                    ..input()
                },
                "event.away_team",
            ),
            (
                MatchupInput {
                    home_rating: 3000.5,
                    ..input()
                },
                "event.home_rating",
            ),
            (
                MatchupInput {
                    away_rating: -1.0,
                    ..input()
                },
                "event.away_rating",
            ),
            (
                MatchupInput {
                    home_advantage: Some(301.0),
                    ..input()
                },
                "event.home_advantage",
            ),
            (
                MatchupInput {
                    sport: Some("curling"),
                    ..input()
                },
                "event.sport",
            ),
        ];
        for (case, field) in cases {
            assert_eq!(Matchup::parse(case, "event.").unwrap_err().field, field);
        }
    }

    #[test]
    fn a_sixty_four_character_name_is_accepted() {
        let name = "é".repeat(64);
        let m = Matchup::parse(
            MatchupInput {
                home_team: &name,
                ..input()
            },
            "",
        )
        .unwrap();
        assert_eq!(m.home_team.chars().count(), 64);
    }
}
