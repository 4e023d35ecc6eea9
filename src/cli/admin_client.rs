//! The HTTP client behind `linnstream orders|audit|jobs`: talks to a running process's
//! admin API (`/api/admin/`, docs/admin.md) with the admin token, and turns its JSON errors
//! into messages.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::server::admin::auth::{TOKEN_ENV, TOKEN_HEADER, USER_HEADER, check_user_name};

/// How a command prints its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Readable tables.
    Table,
    /// The admin API's JSON reply, as it came.
    Json,
}

/// Where the admin API is and who is asking; shared by the admin commands.
#[derive(Args, Clone)]
pub struct AdminClientArgs {
    /// Base URL of the running linnstream process (its admin API is under /api/admin/).
    #[arg(
        long,
        env = "LINNSTREAM_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// The admin token.
    #[arg(long, env = TOKEN_ENV, hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// The installation, as NAMESPACE/NAME (may be left out when there is only one).
    #[arg(long, short = 'i', env = "LINNSTREAM_INSTALLATION", global = true)]
    pub installation: Option<String>,
    /// Your name, recorded in the audit log beside the token's name (default: $USER).
    #[arg(long, env = "LINNSTREAM_USER", global = true)]
    pub user: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// The in-cluster console as NAMESPACE/SERVICE[:PORT], reached through the Kubernetes
    /// API server's service proxy with your kubeconfig, instead of --server (no Ingress or
    /// port-forward needed).
    #[arg(long, env = "LINNSTREAM_CONSOLE", global = true)]
    pub console: Option<String>,
}

impl std::fmt::Debug for AdminClientArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClientArgs")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("installation", &self.installation)
            .field("user", &self.user)
            .field("output", &self.output)
            .field("console", &self.console)
            .finish()
    }
}

/// An error the server answered with.
#[derive(Debug, thiserror::Error)]
#[error("{message} (HTTP {status})")]
pub struct ServerError {
    pub status: StatusCode,
    pub message: String,
    pub body: Value,
}

pub struct AdminClient {
    http: reqwest::Client,
    base: Url,
    token: String,
    user: Option<String>,
    pub output: Output,
    installation: Option<String>,
    /// Through the API server's service proxy: the client and the proxy path prefix.
    proxy: Option<(kube::Client, String)>,
}

/// `NAMESPACE/SERVICE[:PORT]` of a console, checked.
pub fn parse_console(text: &str) -> anyhow::Result<(String, String, Option<u16>)> {
    let bad = || {
        anyhow!(
            "--console {text:?}: expected NAMESPACE/SERVICE[:PORT], e.g. linnstream-system/linnstream-console:8081"
        )
    };
    let (ns, rest) = text.trim().split_once('/').ok_or_else(bad)?;
    let (service, port) = match rest.split_once(':') {
        Some((s, p)) => (s, Some(p.parse::<u16>().map_err(|_| bad())?)),
        None => (rest, None),
    };
    let dns = |v: &str| {
        !v.is_empty()
            && v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !dns(ns) || !dns(service) {
        return Err(bad());
    }
    Ok((ns.to_string(), service.to_string(), port))
}

/// The API server path under which a Service's port is proxied.
pub fn proxy_prefix(ns: &str, service: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("/api/v1/namespaces/{ns}/services/{service}:{p}/proxy"),
        None => format!("/api/v1/namespaces/{ns}/services/{service}/proxy"),
    }
}

impl AdminClient {
    /// [`AdminClient::new`], reaching the console through the API server's service proxy
    /// when `--console` is given (with the kubeconfig's credentials).
    pub async fn connect(args: &AdminClientArgs) -> anyhow::Result<Self> {
        let mut client = Self::new(args)?;
        if let Some(console) = &args.console {
            let (ns, service, port) = parse_console(console)?;
            let kube = kube::Client::try_default()
                .await
                .context("finding the Kubernetes API (KUBECONFIG or ~/.kube/config)")?;
            client.proxy = Some((kube, proxy_prefix(&ns, &service, port)));
            client.base = Url::parse(&format!("http://{service}.{ns}.svc/"))?;
        }
        Ok(client)
    }

    async fn send_via_proxy(
        &self,
        kube: &kube::Client,
        prefix: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, String)> {
        let mut uri = format!("{prefix}{}", url.path());
        if let Some(q) = url.query() {
            uri.push('?');
            uri.push_str(q);
        }
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(TOKEN_HEADER, &self.token);
        if let Some(user) = &self.user {
            request = request.header(USER_HEADER, user);
        }
        let bytes = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                serde_json::to_vec(b)?
            }
            None => Vec::new(),
        };
        let request = request
            .body(kube::client::Body::from(bytes))
            .context("building the request")?;
        let response = kube.send(request).await.map_err(|e| {
            anyhow!("cannot reach the console through the Kubernetes API ({prefix}): {e}")
        })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .with_context(|| format!("reading the reply of {}", url.path()))?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
    pub fn new(args: &AdminClientArgs) -> anyhow::Result<Self> {
        let base = Url::parse(args.server.trim())
            .map_err(|e| anyhow!("--server {:?}: not a URL: {e}", args.server))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            bail!("--server {:?}: use an http:// or https:// URL", args.server);
        }
        let token = args
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| anyhow!("no admin token: pass --token or set {TOKEN_ENV}"))?
            .to_string();
        let user = match &args.user {
            Some(u) => check_user_name(u).map_err(|e| anyhow!("--user: {e}"))?,
            // $USER is a convenience; an odd value is left out rather than refused.
            None => std::env::var("USER")
                .ok()
                .and_then(|u| check_user_name(&u).ok().flatten()),
        };
        if let Some(inst) = &args.installation {
            parse_installation(inst)?;
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base,
            token,
            user,
            output: args.output,
            installation: args.installation.clone(),
            proxy: None,
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| anyhow!("--server: not a base URL"))?;
            path.pop_if_empty();
            path.extend(["api", "admin"]);
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = self.url(segments, query)?;
        let (status, text) = match &self.proxy {
            Some((kube, prefix)) => {
                self.send_via_proxy(kube, prefix, method, &url, body)
                    .await?
            }
            None => {
                let mut request = self
                    .http
                    .request(method, url.clone())
                    .bearer_auth(&self.token);
                if let Some(user) = &self.user {
                    request = request.header(USER_HEADER, user);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                let response = request.send().await.map_err(|e| {
                    anyhow!(
                        "cannot reach the linnstream admin API at {}: {e}",
                        self.base.as_str()
                    )
                })?;
                let status = response.status();
                let text = response
                    .text()
                    .await
                    .with_context(|| format!("reading the reply of {}", url.path()))?;
                (status, text)
            }
        };
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            if body.is_null() {
                bail!(
                    "{} answered {status} with something that is not JSON; is --server a linnstream process?",
                    url.path()
                );
            }
            return Ok(body);
        }
        let message = body
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{} answered {status}{}",
                    url.path(),
                    if text.is_empty() { "" } else { ": " }
                ) + text.chars().take(200).collect::<String>().as_str()
            });
        Err(ServerError {
            status,
            message,
            body,
        }
        .into())
    }

    pub async fn get(&self, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<Value> {
        self.call(Method::GET, segments, query, None).await
    }

    pub async fn post(&self, segments: &[&str], body: &Value) -> anyhow::Result<Value> {
        self.call(Method::POST, segments, &[], Some(body)).await
    }

    /// The installation to work on: `--installation`, or the only one there is.
    pub async fn installation(&self) -> anyhow::Result<(String, String)> {
        if let Some(inst) = &self.installation {
            return parse_installation(inst);
        }
        let list = self.get(&["installations"], &[]).await?;
        let ids: Vec<&str> = list["installations"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["id"].as_str()).collect())
            .unwrap_or_default();
        match ids.as_slice() {
            [only] => parse_installation(only),
            [] => bail!("the server has no installations configured"),
            many => bail!(
                "the server has {} installations; choose one with --installation: {}",
                many.len(),
                many.join(", ")
            ),
        }
    }
}

fn parse_installation(text: &str) -> anyhow::Result<(String, String)> {
    match text.trim().split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => bail!("--installation {text:?}: expected NAMESPACE/NAME, e.g. default/acme"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: &str) -> AdminClientArgs {
        AdminClientArgs {
            server: server.into(),
            token: Some("t0ken-0123456789abcdef".into()),
            installation: Some("shop/acme".into()),
            user: Some("alice".into()),
            output: Output::Table,
            console: None,
        }
    }

    #[test]
    fn urls_are_built_from_segments_and_escaped() {
        let client = AdminClient::new(&args("http://127.0.0.1:8080/")).expect("client");
        let url = client
            .url(
                &["installations", "shop", "acme", "orders", "a b/c"],
                &[("search", "x&y".into())],
            )
            .expect("url");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/api/admin/installations/shop/acme/orders/a%20b%2Fc?search=x%26y"
        );
        let behind_proxy =
            AdminClient::new(&args("https://ops.example.com/linnstream")).expect("client");
        assert_eq!(
            behind_proxy
                .url(&["installations"], &[])
                .expect("url")
                .as_str(),
            "https://ops.example.com/linnstream/api/admin/installations"
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        let e = AdminClient::new(&args("ftp://x")).err().expect("scheme");
        assert!(e.to_string().starts_with("--server"), "{e}");
        let mut a = args("http://x");
        a.installation = Some("acme".into());
        let e = AdminClient::new(&a).err().expect("installation");
        assert!(e.to_string().contains("expected NAMESPACE/NAME"), "{e}");
        let mut a = args("http://x");
        a.token = None;
        let e = AdminClient::new(&a).err().expect("token");
        assert!(e.to_string().starts_with("no admin token"), "{e}");
    }
}
