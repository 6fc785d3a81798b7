//! The words no explanation may use: a whole-word scan for gambling vocabulary, shared by
//! the tests of every module that writes text.

const FORBIDDEN_WORDS: &[&str] = &[
    "bet",
    "betting",
    "odds",
    "pick",
    "stake",
    "bankroll",
    "parlay",
    "wager",
    "guaranteed",
    "profit",
    "payout",
    "bookmaker",
    "jackpot",
    "lock",
];
const FORBIDDEN_PHRASES: &[[&str; 2]] = &[["sure", "thing"]];

/// Forbidden words or phrases found in `text`, matched as whole words, ignoring case.
pub(super) fn gambling_vocabulary(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut found: Vec<String> = words
        .iter()
        .filter(|w| FORBIDDEN_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    for pair in words.windows(2) {
        if FORBIDDEN_PHRASES
            .iter()
            .any(|[a, b]| pair[0] == *a && pair[1] == *b)
        {
            found.push(pair.join(" "));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_detector_matches_whole_words_only() {
        assert_eq!(gambling_vocabulary("Place a BET now"), ["bet"]);
        assert_eq!(gambling_vocabulary("a Sure  thing"), ["sure thing"]);
        assert!(gambling_vocabulary("alphabet, mistakes, blocked, picked").is_empty());
    }
}
