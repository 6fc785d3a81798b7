//! The words for the uncertainty score: what its band means, and who the favourite is.
//!
//! The engine calibrates the bands on football (see its module documentation): a low
//! score means the favourite wins about 7 matches in 10 or more, a high one that it wins
//! about half the time or less. Students read "7 matches in 10" more easily than an
//! entropy, so that is how each band is described.

use super::{percent, render};
use crate::domain::engine::{Favourite, Risk, RiskBand};

pub const BAND_LOW: &str = "low";
pub const BAND_MEDIUM: &str = "medium";
pub const BAND_HIGH: &str = "high";

/// What a low uncertainty score means.
pub const RATIONALE_LOW: &str = "A low score means one side is a clear favourite that wins \
about 7 matches in 10 or more, so within this model the result is fairly predictable.";
/// What a medium uncertainty score means.
pub const RATIONALE_MEDIUM: &str = "A medium score means one side is favoured and wins \
roughly 5 to 7 matches in 10, so the other results remain quite possible.";
/// What a high uncertainty score means.
pub const RATIONALE_HIGH: &str = "A high score means no side wins much more than half the \
time, so any of the three results is quite possible.";

pub const FAVOURITE_IS: &str = " Here {team} is the favourite: it wins {share} ({win_pct} of \
the simulated matches) and draws or loses the other {upset_pct}.";
pub const FAVOURITE_NONE: &str = " Here the two sides are level, so neither is the favourite: \
the model gives them nearly the same chance of winning.";

pub const SHARE_ABOUT: &str = "about {n} matches in 10";
pub const SHARE_ONE: &str = "about 1 match in 10";
pub const SHARE_NEARLY_ALL: &str = "more than 9 matches in 10";
pub const SHARE_FEW: &str = "fewer than 1 match in 10";

/// The word for a band, as the summary writes it.
pub(super) fn band_word(band: RiskBand) -> &'static str {
    match band {
        RiskBand::Low => BAND_LOW,
        RiskBand::Medium => BAND_MEDIUM,
        RiskBand::High => BAND_HIGH,
    }
}

/// A probability as "about N matches in 10", rounded to the nearest whole match.
fn share(p: f64) -> String {
    // Rounding 0.95 or more would give "10 in 10", which reads as a certainty.
    if p >= 0.95 {
        SHARE_NEARLY_ALL.to_owned()
    } else if p < 0.05 {
        SHARE_FEW.to_owned()
    } else {
        match (10.0 * p).round() as u32 {
            1 => SHARE_ONE.to_owned(),
            n => render(SHARE_ABOUT, &[("n", &n.to_string())]),
        }
    }
}

/// What the band means, then who the favourite is, naming the sides `home` and `away`.
pub(super) fn describe(risk: &Risk, home: &str, away: &str) -> String {
    let mut text = match risk.band {
        RiskBand::Low => RATIONALE_LOW,
        RiskBand::Medium => RATIONALE_MEDIUM,
        RiskBand::High => RATIONALE_HIGH,
    }
    .to_owned();
    let team = match risk.favourite {
        Favourite::Home => home,
        Favourite::Away => away,
        Favourite::None => {
            text.push_str(FAVOURITE_NONE);
            return text;
        }
    };
    let wins = 1.0 - risk.upset_probability;
    text.push_str(&render(
        FAVOURITE_IS,
        &[
            ("team", team),
            ("share", &share(wins)),
            ("win_pct", &percent(wins)),
            ("upset_pct", &percent(risk.upset_probability)),
        ],
    ));
    text
}

/// The API's `risk.rationale`: [`describe`] with the sides named by where they play.
pub fn rationale(risk: &Risk) -> String {
    describe(risk, "the home side", "the away side")
}

#[cfg(test)]
mod tests {
    use super::super::vocabulary::gambling_vocabulary;
    use super::*;

    fn risk(band: RiskBand, favourite: Favourite, upset_probability: f64) -> Risk {
        Risk {
            score: 80.0,
            band,
            favourite,
            upset_probability,
        }
    }

    #[test]
    fn shares_are_whole_matches_in_ten() {
        assert_eq!(share(0.74), "about 7 matches in 10");
        assert_eq!(share(0.587), "about 6 matches in 10");
        assert_eq!(share(0.46), "about 5 matches in 10");
        assert_eq!(share(0.12), "about 1 match in 10");
        assert_eq!(share(0.949), "about 9 matches in 10");
        assert_eq!(share(0.95), "more than 9 matches in 10");
        assert_eq!(share(0.04), "fewer than 1 match in 10");
    }

    #[test]
    fn the_rationale_says_what_the_band_means_and_how_often_the_favourite_wins() {
        let clear = rationale(&risk(RiskBand::Low, Favourite::Home, 0.26));
        assert_eq!(
            clear,
            format!(
                "{RATIONALE_LOW} Here the home side is the favourite: it wins about 7 matches \
                 in 10 (74.0% of the simulated matches) and draws or loses the other 26.0%."
            )
        );
        let visitors = rationale(&risk(RiskBand::Medium, Favourite::Away, 0.413));
        assert!(visitors.starts_with(RATIONALE_MEDIUM), "{visitors}");
        assert!(visitors.contains("the away side is the favourite: it wins about 6 matches in 10"));
        let level = rationale(&risk(RiskBand::High, Favourite::None, 0.62));
        assert_eq!(level, format!("{RATIONALE_HIGH}{FAVOURITE_NONE}"));
    }

    #[test]
    fn the_summary_names_the_favourite_by_its_team() {
        let r = risk(RiskBand::High, Favourite::Away, 0.55);
        let text = describe(&r, "Inter", "AC Milan");
        assert!(text.contains("Here AC Milan is the favourite"), "{text}");
    }

    #[test]
    fn every_rationale_is_free_of_gambling_vocabulary() {
        for band in [RiskBand::Low, RiskBand::Medium, RiskBand::High] {
            for favourite in [Favourite::Home, Favourite::Away, Favourite::None] {
                for upset in [0.0, 0.03, 0.3, 0.5, 0.62, 0.97, 1.0] {
                    let text = rationale(&risk(band, favourite, upset));
                    let found = gambling_vocabulary(&text);
                    assert!(found.is_empty(), "{found:?} in {text:?}");
                    assert!(!text.contains('{'), "unfilled placeholder in {text:?}");
                }
            }
        }
    }
}
