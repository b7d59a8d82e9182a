//! "Did you mean …?": the closest known name to a misspelt one.

/// The candidate closest to `wanted`, when it is close enough to be a likely typo.
pub fn closest<'a, I, S>(wanted: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + 'a + ?Sized,
{
    let wanted_lower = wanted.to_lowercase();
    candidates
        .into_iter()
        .map(AsRef::as_ref)
        .filter(|candidate| *candidate != wanted)
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&wanted_lower, &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| {
            let longest = wanted.chars().count().max(candidate.chars().count());
            // One edit in three characters still reads as the same word; more is a different name.
            *distance > 0 && *distance <= (longest / 3).max(1)
                || candidate.eq_ignore_ascii_case(wanted)
        })
        .min_by_key(|(distance, candidate)| (*distance, candidate.len()))
        .map(|(_, candidate)| candidate.to_string())
}

/// `help` text for a misspelt name, if a close one exists.
pub fn did_you_mean<'a, I, S>(wanted: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + 'a + ?Sized,
{
    closest(wanted, candidates).map(|name| format!("did you mean `{name}`?"))
}

/// Renders names as "`a`, `b` or `c`".
pub fn one_of<I, S>(names: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let names: Vec<String> = names
        .into_iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect();
    match names.as_slice() {
        [] => "nothing".to_string(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["web1", "web2", "lb", "discovery"];
        assert_eq!(closest("wbe1", &names), Some("web1".into()));
        assert_eq!(closest("discovry", &names), Some("discovery".into()));
        assert_eq!(closest("database", &names), None);
        assert_eq!(closest("LB", &names), Some("lb".into()));
    }

    #[test]
    fn lists_names_readably() {
        assert_eq!(one_of(["a"]), "`a`");
        assert_eq!(one_of(["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
