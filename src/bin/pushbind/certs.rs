//! `pushbind certs`: list, show, upload, delete and refresh the app's push
//! certificates. Secrets come from files or standard input, never from a
//! command-line value, because other local users can read command lines.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use pushbind_client::protocol::{
    ApnsCredentials, ApnsKey, FcmCredentials, FcmPriority, FcmPushType, HonorCredentials,
    HuaweiCredentials, MAX_CREDENTIAL_FILE_LEN, MeizuCredentials, NotifierDetails, OppoCredentials,
    SecretBytes, SecretText, VivoCredentials, XiaomiCredentials,
};
use pushbind_client::{ApnsEnvironment, NotifierInfo, NotifierUpload, Vendor, VendorCredentials};

use crate::exit::{ExitStatus, InvalidInput};
use crate::output::Output;
use crate::render;
use crate::time::now_millis;

/// The `certs` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CertsCommand {
    /// List the cached certificates with vendor, environment, package and
    /// expiry; certificates expiring soon are flagged
    List {
        /// Fetch the list from the server first
        #[arg(long)]
        refresh: bool,
    },
    /// Show the certificates of one name and this device's bindings under it
    Show {
        /// Certificate name
        name: String,
    },
    /// Check a certificate locally, upload it to the server, and refresh
    /// the cache
    ///
    /// Secrets are read from the file given with --file (or --passphrase-file
    /// for a .p12's passphrase); `-` reads standard input. They are sent to
    /// the server once and never stored by pushbindd.
    Upload {
        #[command(subcommand)]
        vendor: UploadCommand,
    },
    /// Delete a certificate from the server and refresh the cache
    Delete {
        /// Certificate name
        name: String,
        /// The vendor, when certificates of several vendors share the name
        #[arg(long, value_enum)]
        vendor: Option<VendorArg>,
    },
    /// Fetch the certificate list from the server into the cache
    Refresh,
}

/// The values of `--vendor`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum VendorArg {
    Apns,
    Fcm,
    Huawei,
    Honor,
    Oppo,
    Vivo,
    Xiaomi,
    Meizu,
}

impl From<VendorArg> for Vendor {
    fn from(value: VendorArg) -> Self {
        match value {
            VendorArg::Apns => Self::Apns,
            VendorArg::Fcm => Self::Fcm,
            VendorArg::Huawei => Self::Huawei,
            VendorArg::Honor => Self::Honor,
            VendorArg::Oppo => Self::Oppo,
            VendorArg::Vivo => Self::Vivo,
            VendorArg::Xiaomi => Self::Xiaomi,
            VendorArg::Meizu => Self::Meizu,
        }
    }
}

/// Arguments every upload takes.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Certificate name that devices bind with; for most vendors an id from
    /// the vendor's console (see the vendor's help)
    #[arg(long)]
    name: String,
    /// File with the credential (see the vendor's help); `-` reads standard
    /// input
    #[arg(long, value_name = "PATH")]
    file: PathBuf,
}

/// One subcommand per vendor.
#[derive(Debug, Subcommand)]
pub(crate) enum UploadCommand {
    /// APNs: --file is a .p12 certificate (with --passphrase-file) or a .p8
    /// key (with --key-id and --team-id); --name is any name you choose
    Apns {
        #[command(flatten)]
        common: Common,
        /// The app's bundle ID, such as com.example.chat
        #[arg(long)]
        bundle_id: String,
        /// APNs environment of the certificate
        #[arg(long, value_enum, ignore_case = true)]
        environment: EnvironmentArg,
        /// File with the .p12 passphrase; `-` reads standard input. An empty
        /// file means a .p12 exported without a passphrase
        #[arg(long, value_name = "PATH", conflicts_with_all = ["key_id", "team_id"])]
        passphrase_file: Option<PathBuf>,
        /// Key ID of a .p8 key: 10 characters of A-Z and 0-9
        #[arg(long, requires = "team_id")]
        key_id: Option<String>,
        /// Team ID of the developer account: 10 characters of A-Z and 0-9
        #[arg(long, requires = "key_id")]
        team_id: Option<String>,
    },
    /// FCM (HTTP v1): --name is the Sender ID (project number); --file is the
    /// service-account JSON
    Fcm {
        #[command(flatten)]
        common: Common,
        /// Kind of FCM message the IM server sends [default: the server's]
        #[arg(long, value_enum)]
        push_type: Option<PushTypeArg>,
        /// Priority of FCM messages [default: the server's]
        #[arg(long, value_enum)]
        priority: Option<PriorityArg>,
    },
    /// Huawei: --name is the app's Client ID; --file holds the Client Secret
    Huawei {
        #[command(flatten)]
        common: Common,
        /// The app's Android package name (applicationId), such as
        /// com.example.chat
        #[arg(long)]
        package_name: String,
        /// Project ID from AppGallery Connect: digits
        #[arg(long)]
        project_id: Option<String>,
        /// Message category Huawei approved for the app, such as IM
        #[arg(long)]
        category: Option<String>,
        /// Intent action of the activity a tap on the notification opens
        #[arg(long)]
        click_action: Option<String>,
    },
    /// Honor: --name is the Honor App ID; --file holds the Client Secret
    Honor {
        #[command(flatten)]
        common: Common,
        /// Client ID from the Honor developer console (not secret)
        #[arg(long)]
        client_id: String,
        /// The app's Android package name (applicationId), such as
        /// com.example.chat
        #[arg(long)]
        package_name: Option<String>,
        /// Full class name of the launcher activity whose icon shows the
        /// badge
        #[arg(long)]
        badge_class: Option<String>,
        /// Intent action of the activity a tap on the notification opens
        #[arg(long)]
        action: Option<String>,
    },
    /// OPPO: --name is the OPPO App Key; --file holds the Master Secret
    Oppo {
        #[command(flatten)]
        common: Common,
        /// The app's Android package name (applicationId), such as
        /// com.example.chat
        #[arg(long)]
        package_name: String,
        /// Notification channel id for the vendor's messages
        #[arg(long)]
        channel_id: Option<String>,
    },
    /// vivo: --name is the vivo App ID (or appId#appKey); --file holds the
    /// App Secret
    Vivo {
        #[command(flatten)]
        common: Common,
        /// App Key from the vivo developer platform (not secret)
        #[arg(long)]
        app_key: String,
        /// The app's Android package name (applicationId), such as
        /// com.example.chat
        #[arg(long)]
        package_name: String,
        /// vivo message category, such as IM
        #[arg(long)]
        category: Option<String>,
        /// 0 for operational messages, 1 for system messages
        #[arg(long)]
        push_type: Option<String>,
    },
    /// Xiaomi: --name is the Xiaomi App ID; --file holds the AppSecret
    Xiaomi {
        #[command(flatten)]
        common: Common,
        /// The app's Android package name (applicationId), such as
        /// com.example.chat
        #[arg(long)]
        package_name: String,
        /// Notification channel id for the vendor's messages
        #[arg(long)]
        channel_id: Option<String>,
    },
    /// Meizu: --name is the Meizu App ID; --file holds the AppSecret
    Meizu {
        #[command(flatten)]
        common: Common,
        /// The app's Android package name (applicationId), such as
        /// com.example.chat
        #[arg(long)]
        package_name: String,
        /// Full class name of the activity a tap on the notification opens
        #[arg(long)]
        click_activity: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum EnvironmentArg {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PushTypeArg {
    Data,
    Notification,
    Both,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PriorityArg {
    High,
    Normal,
}

/// Runs `certs`; without a subcommand it lists, as `certs list` does.
pub(crate) fn run(
    socket: &Path,
    output: Output,
    command: Option<CertsCommand>,
    refresh: bool,
) -> anyhow::Result<ExitStatus> {
    match command.unwrap_or(CertsCommand::List { refresh }) {
        CertsCommand::List { refresh } => crate::commands::certificates(socket, output, refresh),
        CertsCommand::Refresh => crate::commands::certificates(socket, output, true),
        CertsCommand::Show { name } => {
            let details = connect(socket)?.show_notifier(&name)?;
            output.print(&details, |details| show_text(details, now_millis()))?;
            Ok(ExitStatus::Success)
        }
        CertsCommand::Delete { name, vendor } => {
            let deleted = connect(socket)?.delete_notifier(&name, vendor.map(Vendor::from))?;
            output.print(&deleted, |info| changed_text("deleted", info, now_millis()))?;
            Ok(ExitStatus::Success)
        }
        CertsCommand::Upload { vendor } => {
            let upload = build_upload(vendor)?;
            // Checked here too, so that a mistake is reported with status 6
            // even when the daemon is not running.
            pushbind::certs::check(&upload, now_millis())
                .map_err(|err| InvalidInput(err.to_string()))?;
            let created = connect(socket)?.upload_notifier(&upload)?;
            output.print(&created, |info| {
                changed_text("uploaded", info, now_millis())
            })?;
            Ok(ExitStatus::Success)
        }
    }
}

fn connect(socket: &Path) -> anyhow::Result<pushbind_client::blocking::Client> {
    Ok(pushbind_client::blocking::Client::connect_to(socket)?)
}

/// Reads a credential file, or standard input for `-`, up to
/// [`MAX_CREDENTIAL_FILE_LEN`] bytes. An empty file is an error.
fn read_file(path: &Path, option: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = read_file_or_empty(path, option)?;
    if bytes.is_empty() {
        return Err(InvalidInput(format!("{option} {} is empty", path.display())).into());
    }
    Ok(bytes)
}

/// Reads a file as [`read_file`] does, but returns an empty file's content.
fn read_file_or_empty(path: &Path, option: &str) -> anyhow::Result<Vec<u8>> {
    let limit = MAX_CREDENTIAL_FILE_LEN as u64 + 1;
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    let shown = path.display();
    result.map_err(|err| InvalidInput(format!("cannot read {option} {shown}: {err}")))?;
    if bytes.len() > MAX_CREDENTIAL_FILE_LEN {
        let message = format!(
            "{option} {shown} is larger than {MAX_CREDENTIAL_FILE_LEN} bytes; pass the credential \
             file itself"
        );
        return Err(InvalidInput(message).into());
    }
    Ok(bytes)
}

/// Reads a text secret; trailing line breaks are removed.
fn read_text(path: &Path, option: &str) -> anyhow::Result<SecretText> {
    text_of(read_file(path, option)?, path, option)
}

fn text_of(bytes: Vec<u8>, path: &Path, option: &str) -> anyhow::Result<SecretText> {
    let text = String::from_utf8(bytes)
        .map_err(|_| InvalidInput(format!("{option} {} is not UTF-8 text", path.display())))?;
    Ok(SecretText::new(text.trim_end_matches(['\r', '\n'])))
}

fn build_upload(command: UploadCommand) -> anyhow::Result<NotifierUpload> {
    let (common, credentials) = match command {
        UploadCommand::Apns {
            common,
            bundle_id,
            environment,
            passphrase_file,
            key_id,
            team_id,
        } => {
            let key = apns_key(&common.file, passphrase_file, key_id, team_id)?;
            let environment = match environment {
                EnvironmentArg::Development => ApnsEnvironment::Development,
                EnvironmentArg::Production => ApnsEnvironment::Production,
            };
            let credentials = ApnsCredentials {
                environment,
                bundle_id,
                key,
            };
            (common, VendorCredentials::Apns(credentials))
        }
        UploadCommand::Fcm {
            common,
            push_type,
            priority,
        } => {
            let credentials = FcmCredentials {
                service_account: read_text(&common.file, "--file")?,
                push_type: push_type.map(|value| match value {
                    PushTypeArg::Data => FcmPushType::Data,
                    PushTypeArg::Notification => FcmPushType::Notification,
                    PushTypeArg::Both => FcmPushType::Both,
                }),
                priority: priority.map(|value| match value {
                    PriorityArg::High => FcmPriority::High,
                    PriorityArg::Normal => FcmPriority::Normal,
                }),
            };
            (common, VendorCredentials::Fcm(credentials))
        }
        other => android_upload(other)?,
    };
    Ok(NotifierUpload {
        name: common.name,
        credentials,
    })
}

/// Builds the upload of the vendors whose `--file` holds one text secret.
fn android_upload(command: UploadCommand) -> anyhow::Result<(Common, VendorCredentials)> {
    let secret = |common: &Common| read_text(&common.file, "--file");
    let result = match command {
        UploadCommand::Huawei {
            common,
            package_name,
            project_id,
            category,
            click_action,
        } => {
            let credentials = HuaweiCredentials {
                client_secret: secret(&common)?,
                package_name,
                project_id,
                category,
                click_action,
            };
            (common, VendorCredentials::Huawei(credentials))
        }
        UploadCommand::Honor {
            common,
            client_id,
            package_name,
            badge_class,
            action,
        } => {
            let credentials = HonorCredentials {
                client_id,
                client_secret: secret(&common)?,
                package_name,
                badge_class,
                action,
            };
            (common, VendorCredentials::Honor(credentials))
        }
        UploadCommand::Oppo {
            common,
            package_name,
            channel_id,
        } => {
            let credentials = OppoCredentials {
                master_secret: secret(&common)?,
                package_name,
                channel_id,
            };
            (common, VendorCredentials::Oppo(credentials))
        }
        UploadCommand::Vivo {
            common,
            app_key,
            package_name,
            category,
            push_type,
        } => {
            let credentials = VivoCredentials {
                app_key,
                app_secret: secret(&common)?,
                package_name,
                category,
                push_type,
            };
            (common, VendorCredentials::Vivo(credentials))
        }
        UploadCommand::Xiaomi {
            common,
            package_name,
            channel_id,
        } => {
            let credentials = XiaomiCredentials {
                app_secret: secret(&common)?,
                package_name,
                channel_id,
            };
            (common, VendorCredentials::Xiaomi(credentials))
        }
        UploadCommand::Meizu {
            common,
            package_name,
            click_activity,
        } => {
            let credentials = MeizuCredentials {
                app_secret: secret(&common)?,
                package_name,
                click_activity,
            };
            (common, VendorCredentials::Meizu(credentials))
        }
        UploadCommand::Apns { .. } | UploadCommand::Fcm { .. } => {
            unreachable!("build_upload handles APNs and FCM")
        }
    };
    Ok(result)
}

/// Reads an APNs `.p12` with its passphrase, or a `.p8` with its ids.
fn apns_key(
    file: &Path,
    passphrase_file: Option<PathBuf>,
    key_id: Option<String>,
    team_id: Option<String>,
) -> anyhow::Result<ApnsKey> {
    if let (Some(key_id), Some(team_id)) = (key_id, team_id) {
        return Ok(ApnsKey::Token {
            p8: read_text(file, "--file")?,
            key_id,
            team_id,
        });
    }
    let Some(passphrase_file) = passphrase_file else {
        return Err(InvalidInput(
            "missing --passphrase-file: a .p12 needs its passphrase (a file, or - for standard \
             input); for a .p8 key pass --key-id and --team-id instead"
                .into(),
        )
        .into());
    };
    if file == Path::new("-") && passphrase_file == Path::new("-") {
        return Err(InvalidInput(
            "--file and --passphrase-file cannot both read standard input; put one in a file"
                .into(),
        )
        .into());
    }
    let p12 = SecretBytes::new(read_file(file, "--file")?);
    // An empty passphrase file stands for a .p12 exported without one. The
    // content decides, not the file's size, because a pipe such as
    // /dev/stdin or `<(...)` reports a size of 0 whatever it carries.
    let bytes = read_file_or_empty(&passphrase_file, "--passphrase-file")?;
    let passphrase = text_of(bytes, &passphrase_file, "--passphrase-file")?;
    Ok(ApnsKey::Certificate { p12, passphrase })
}

/// Renders the response to an upload or a delete.
fn changed_text(verb: &str, info: &NotifierInfo, now: i64) -> String {
    let vendor = Vendor::from_provider(&info.provider)
        .map_or_else(|| info.provider.clone(), |v| v.name().to_owned());
    let mut text = format!(
        "{verb} certificate {} ({vendor}), uuid {}\n",
        info.name, info.uuid
    );
    if let Some(at) = info.expires_at {
        let flag = if info.expiring {
            ", within the warning window"
        } else {
            ""
        };
        let _ = writeln!(text, "{}{flag}", render::expiry_text(at, now));
    }
    text
}

/// Renders the response to `certs show`.
fn show_text(details: &NotifierDetails, now: i64) -> String {
    let mut text = render::certificate_table(&details.notifiers, now);
    for info in details.notifiers.iter().filter(|n| n.disabled) {
        let _ = writeln!(
            text,
            "{} ({}) is disabled on the server; pushes to it are not delivered",
            info.name, info.provider
        );
    }
    for info in &details.notifiers {
        if let Some(at) = info.expires_at {
            let _ = writeln!(text, "{} {}", info.name, render::expiry_text(at, now));
        }
    }
    if details.bindings.is_empty() {
        text.push_str("no binding of this device uses this name\n");
    } else {
        text.push_str("bindings of this device:\n");
        for binding in &details.bindings {
            let _ = writeln!(
                text,
                "  {} / {}: {}",
                binding.user_id,
                binding.notifier_name,
                render::state_name(binding.state)
            );
        }
    }
    text
}
