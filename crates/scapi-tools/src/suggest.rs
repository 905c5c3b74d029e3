//! "Did you mean": the closest candidate to a misspelt word.

/// The closest candidate to `word` by edit distance, if it is close enough
/// to be a plausible typo: optimal-string-alignment distance (an adjacent
/// transposition counts once) of at most a third of the word's length, at
/// least 1.
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let len = word.chars().count();
    let limit = (len / 3).max(1);
    let word = word.to_ascii_lowercase();
    // The distance is at least the difference in length: most candidates
    // are ruled out before any table is filled, so an export of a million
    // misspelt names stays linear and fast.
    candidates
        .into_iter()
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (strsim::osa_distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}
