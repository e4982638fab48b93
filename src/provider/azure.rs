//! Azure OpenAI: which providers are Azure, and what its 401 means. Azure takes keys in the
//! `api-key` header (a Bearer key is answered with 401, behind Azure API gateways too), so an
//! Azure provider sends its `env_key` there.

/// Host suffixes of Azure OpenAI / AI Foundry endpoints.
const AZURE_HOST_SUFFIXES: &[&str] = &[
    ".openai.azure.com",
    ".cognitiveservices.azure.com",
    ".services.ai.azure.com",
];

/// The rule: a user-defined provider is Azure when its id or `name` is "azure" (any case), or
/// its `base_url` host ends in one of `AZURE_HOST_SUFFIXES`.
pub fn is_azure(id: &str, name: Option<&str>, base_url: Option<&str>) -> bool {
    if id.eq_ignore_ascii_case("azure")
        || name.is_some_and(|n| n.trim().eq_ignore_ascii_case("azure"))
    {
        return true;
    }
    base_url
        .and_then(|u| url::Url::parse(u.trim()).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| AZURE_HOST_SUFFIXES.iter().any(|s| host.ends_with(s)))
}

/// The guide's troubleshooting row ("Azure 401 errors: AZURE_OPENAI_API_KEY not set or wrong"),
/// naming the variable this provider really reads.
pub fn unauthorized(id: &str, env_key: Option<&str>, server_message: &str) -> String {
    let detail = if server_message.is_empty() {
        String::new()
    } else {
        format!(" ({server_message})")
    };
    match env_key {
        Some(var) => format!(
            "Azure OpenAI refused the key (401 Unauthorized){detail}. Check {var}: it must hold a key of this Azure resource, and {var} must be the env_key of [model_providers.{id}] in config.toml."
        ),
        None => format!(
            "Azure OpenAI refused the request (401 Unauthorized){detail}. [model_providers.{id}] has no env_key: add env_key = \"AZURE_OPENAI_API_KEY\" and set that variable to a key of this Azure resource."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_is_recognised_by_id_name_or_host() {
        assert!(is_azure("azure", None, None));
        assert!(is_azure("work", Some("Azure"), None));
        assert!(is_azure(
            "work",
            None,
            Some("https://x.openai.azure.com/openai")
        ));
        assert!(is_azure(
            "w",
            None,
            Some("https://x.cognitiveservices.azure.com/openai")
        ));
        assert!(!is_azure(
            "work",
            Some("Gateway"),
            Some("https://gw.example.com/openai")
        ));
        assert!(!is_azure(
            "w",
            None,
            Some("https://openai.azure.com.evil.example/")
        ));
    }
}
