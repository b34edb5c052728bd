//! The number fields of the connection forms (create and settings): parsed in the browser
//! so a wrong value is an error on its field before anything is sent.

/// What a number field of the connection forms accepts. A value the rule refuses is an error
/// on that field, never a silent change (round 1 saved "two" as "no limit").
#[derive(Clone, Copy)]
pub struct NumberRule {
    min: i64,
    max: i64,
    required: bool,
}

impl NumberRule {
    pub const OPTIONAL_COUNT: Self = Self {
        min: 0,
        max: i64::MAX,
        required: false,
    };
    pub const REQUIRED_COUNT: Self = Self {
        min: 0,
        max: i64::MAX,
        required: true,
    };
    pub const PRIORITY: Self = Self {
        min: -10_000,
        max: 10_000,
        required: true,
    };
    /// At creation an empty priority takes the owner's default.
    pub const OPTIONAL_PRIORITY: Self = Self {
        min: -10_000,
        max: 10_000,
        required: false,
    };
    /// Retries of a failed upstream call.
    pub const RETRIES: Self = Self {
        min: 0,
        max: 10,
        required: false,
    };

    pub fn parse(self, raw: &str) -> Result<Option<i64>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return if self.required {
                Err("Required.".into())
            } else {
                Ok(None)
            };
        }
        match raw.parse::<i64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(Some(n)),
            Ok(_) if self.max == i64::MAX => Err(format!("Must be {} or more.", self.min)),
            Ok(_) => Err(format!("Must be between {} and {}.", self.min, self.max)),
            Err(_) => Err(format!("\"{raw}\" is not a whole number.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NumberRule;

    #[test]
    fn number_fields_refuse_words_and_out_of_range_values() {
        assert_eq!(NumberRule::OPTIONAL_COUNT.parse(" "), Ok(None));
        assert_eq!(NumberRule::OPTIONAL_COUNT.parse("60"), Ok(Some(60)));
        assert_eq!(
            NumberRule::OPTIONAL_COUNT.parse("two"),
            Err("\"two\" is not a whole number.".into())
        );
        assert_eq!(
            NumberRule::OPTIONAL_COUNT.parse("-1"),
            Err("Must be 0 or more.".into())
        );
        assert_eq!(
            NumberRule::REQUIRED_COUNT.parse(""),
            Err("Required.".into())
        );
        assert_eq!(
            NumberRule::PRIORITY.parse("high"),
            Err("\"high\" is not a whole number.".into())
        );
        assert_eq!(NumberRule::PRIORITY.parse("-5"), Ok(Some(-5)));
        assert_eq!(
            NumberRule::PRIORITY.parse("20000"),
            Err("Must be between -10000 and 10000.".into())
        );
    }
}
