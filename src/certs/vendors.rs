//! The Android vendors other than FCM: Huawei, Honor, OPPO, vivo, Xiaomi
//! and Meizu. Each certificate name is an id from the vendor's console.
//!
//! NOTE: the vendors publish no formal grammar for their ids and secrets.
//! The checks below follow what their consoles show: numeric App IDs,
//! hexadecimal secrets where the console shows them (Huawei 64 digits,
//! OPPO and Meizu 32). Where a format is not settled (Honor's Client ID,
//! vivo's and Xiaomi's secrets), only presence and the absence of white
//! space are checked.

use pushbind_client::protocol::{
    HonorCredentials, HuaweiCredentials, MeizuCredentials, OppoCredentials, VivoCredentials,
    XiaomiCredentials,
};

use super::fields::{digits, hex_secret, optional_setting, package_name, secret, setting};
use super::{CertError, CertFacts, UploadForm};

/// Maximum digits of a vendor's numeric App ID.
const MAX_APP_ID_DIGITS: usize = 20;

/// Android vendors push to one environment; the server's field is filled
/// with `PRODUCTION`.
const ENVIRONMENT: &str = "PRODUCTION";

pub fn huawei(
    name: &str,
    huawei: &HuaweiCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    let console = "AppGallery Connect, Project settings > General information";
    digits(
        "name",
        name,
        MAX_APP_ID_DIGITS,
        &format!("the app's Client ID (App ID) from {console}"),
    )?;
    hex_secret(
        "client_secret",
        &huawei.client_secret,
        64,
        &format!("copy the Client Secret from {console}"),
    )?;
    package_name(&huawei.package_name)?;
    if let Some(project_id) = &huawei.project_id {
        digits(
            "project_id",
            project_id,
            MAX_APP_ID_DIGITS,
            &format!("the Project ID from {console}"),
        )?;
    }
    let category_hint = "use a category Huawei approved for the app, such as IM";
    optional_setting("category", huawei.category.as_deref(), category_hint)?;
    let action_hint = "use the intent action of the activity to open";
    optional_setting("click_action", huawei.click_action.as_deref(), action_hint)?;
    form.text("environment", ENVIRONMENT);
    form.text("packageName", &huawei.package_name);
    form.secret("clientSecret", &huawei.client_secret);
    form.optional("projectId", huawei.project_id.as_deref());
    form.optional("category", huawei.category.as_deref());
    form.optional("clickAction", huawei.click_action.as_deref());
    Ok(CertFacts::default())
}

pub fn honor(
    name: &str,
    honor: &HonorCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    let console = "the Honor developer console, under the app's push service";
    digits(
        "name",
        name,
        MAX_APP_ID_DIGITS,
        &format!("the Honor App ID from {console}"),
    )?;
    setting(
        "client_id",
        &honor.client_id,
        &format!("copy the Client ID from {console}"),
    )?;
    secret(
        "client_secret",
        &honor.client_secret,
        &format!("copy the Client Secret from {console}"),
    )?;
    if let Some(package) = &honor.package_name {
        package_name(package)?;
    }
    let badge_hint = "use the full class name of the launcher activity";
    optional_setting("badge_class", honor.badge_class.as_deref(), badge_hint)?;
    let action_hint = "use the intent action of the activity to open";
    optional_setting("action", honor.action.as_deref(), action_hint)?;
    form.text("environment", ENVIRONMENT);
    form.optional("packageName", honor.package_name.as_deref());
    form.text("clientId", &honor.client_id);
    form.secret("clientSecret", &honor.client_secret);
    form.optional("badgeClass", honor.badge_class.as_deref());
    form.optional("action", honor.action.as_deref());
    Ok(CertFacts::default())
}

pub fn oppo(
    name: &str,
    oppo: &OppoCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    let console = "the OPPO open platform, under the app's push service";
    let app_key_valid = name.len() == 32 && name.bytes().all(|b| b.is_ascii_alphanumeric());
    if !app_key_valid {
        return Err(CertError::new(
            "name",
            format!(
                "{name:?} must be the OPPO App Key: 32 letters and digits, as shown in {console}"
            ),
        ));
    }
    hex_secret(
        "master_secret",
        &oppo.master_secret,
        32,
        &format!("copy the Master Secret (not the App Secret) from {console}"),
    )?;
    package_name(&oppo.package_name)?;
    let channel_hint = "use the id of a notification channel the app creates";
    optional_setting("channel_id", oppo.channel_id.as_deref(), channel_hint)?;
    form.text("environment", ENVIRONMENT);
    form.text("packageName", &oppo.package_name);
    form.secret("masterSecret", &oppo.master_secret);
    form.optional("channelId", oppo.channel_id.as_deref());
    Ok(CertFacts::default())
}

pub fn vivo(
    name: &str,
    vivo: &VivoCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    let console = "the vivo developer platform, under the app's push service";
    // Some SDKs bind with `appId#appKey`, so the name may take that form.
    let app_id = name.split_once('#').map_or(name, |(id, _)| id);
    digits(
        "name",
        app_id,
        MAX_APP_ID_DIGITS,
        &format!("the vivo App ID from {console}, optionally followed by #AppKey"),
    )?;
    if let Some((_, key)) = name.split_once('#')
        && key != vivo.app_key
    {
        return Err(CertError::new(
            "name",
            format!(
                "the part after '#' must equal app_key, because devices bind with \
                 appId#appKey; use the App ID alone, or {app_id}#<the App Key>"
            ),
        ));
    }
    setting(
        "app_key",
        &vivo.app_key,
        &format!("copy the App Key from {console}"),
    )?;
    secret(
        "app_secret",
        &vivo.app_secret,
        &format!("copy the App Secret from {console}"),
    )?;
    package_name(&vivo.package_name)?;
    let category_hint = "use a vivo message category such as IM";
    optional_setting("category", vivo.category.as_deref(), category_hint)?;
    if let Some(push_type) = &vivo.push_type
        && !matches!(push_type.as_str(), "0" | "1")
    {
        return Err(CertError::new(
            "push_type",
            format!("{push_type:?} must be 0 (operational message) or 1 (system message)"),
        ));
    }
    form.text("environment", ENVIRONMENT);
    form.text("packageName", &vivo.package_name);
    form.text("appKey", &vivo.app_key);
    form.secret("appSecret", &vivo.app_secret);
    form.optional("category", vivo.category.as_deref());
    form.optional("pushType", vivo.push_type.as_deref());
    Ok(CertFacts::default())
}

pub fn xiaomi(
    name: &str,
    xiaomi: &XiaomiCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    let console = "the Xiaomi open platform, under the app's push service";
    digits(
        "name",
        name,
        MAX_APP_ID_DIGITS,
        &format!("the Xiaomi App ID from {console}"),
    )?;
    secret(
        "app_secret",
        &xiaomi.app_secret,
        &format!("copy the AppSecret from {console}"),
    )?;
    package_name(&xiaomi.package_name)?;
    let channel_hint = "use the channel id Xiaomi assigned to the app";
    optional_setting("channel_id", xiaomi.channel_id.as_deref(), channel_hint)?;
    form.text("environment", ENVIRONMENT);
    form.text("packageName", &xiaomi.package_name);
    form.secret("appSecret", &xiaomi.app_secret);
    form.optional("channelId", xiaomi.channel_id.as_deref());
    Ok(CertFacts::default())
}

pub fn meizu(
    name: &str,
    meizu: &MeizuCredentials,
    form: &mut UploadForm,
) -> Result<CertFacts, CertError> {
    let console = "the Meizu open platform, under the app's push service";
    digits(
        "name",
        name,
        MAX_APP_ID_DIGITS,
        &format!("the Meizu App ID from {console}"),
    )?;
    hex_secret(
        "app_secret",
        &meizu.app_secret,
        32,
        &format!("copy the AppSecret from {console}"),
    )?;
    package_name(&meizu.package_name)?;
    let activity_hint = "use the full class name of the activity to open";
    optional_setting(
        "click_activity",
        meizu.click_activity.as_deref(),
        activity_hint,
    )?;
    form.text("environment", ENVIRONMENT);
    form.text("packageName", &meizu.package_name);
    form.secret("appSecret", &meizu.app_secret);
    form.optional("clickActivity", meizu.click_activity.as_deref());
    Ok(CertFacts::default())
}

#[cfg(test)]
mod tests {
    use pushbind_client::protocol::{SecretText, Vendor};

    use super::*;

    const PACKAGE: &str = "com.example.chat";

    fn hex(len: usize) -> SecretText {
        SecretText::new("ab12".repeat(len / 4))
    }

    fn huawei_credentials() -> HuaweiCredentials {
        HuaweiCredentials {
            client_secret: hex(64),
            package_name: PACKAGE.into(),
            project_id: Some("736430079244623135".into()),
            category: Some("IM".into()),
            click_action: None,
        }
    }

    fn form(vendor: Vendor, name: &str) -> UploadForm {
        UploadForm::new(vendor, name)
    }

    #[test]
    fn huawei_checks() {
        let mut f = form(Vendor::Huawei, "101234567");
        huawei("101234567", &huawei_credentials(), &mut f).unwrap();
        assert_eq!(f.text_value("projectId"), Some("736430079244623135"));
        assert_eq!(
            f.text_value("clientSecret"),
            None,
            "secrets are not text parts"
        );
        let err = huawei("hw-main", &huawei_credentials(), &mut f).unwrap_err();
        assert_eq!(err.field, "name");
        assert!(err.message.contains("Client ID"), "{}", err.message);
        let short = HuaweiCredentials {
            client_secret: hex(32),
            ..huawei_credentials()
        };
        let err = huawei("101234567", &short, &mut f).unwrap_err();
        assert_eq!(err.field, "client_secret");
        assert!(err.message.contains("64 hexadecimal"), "{}", err.message);
        let bad_package = HuaweiCredentials {
            package_name: "chat".into(),
            ..huawei_credentials()
        };
        assert_eq!(
            huawei("101234567", &bad_package, &mut f).unwrap_err().field,
            "package_name"
        );
        let bad_project = HuaweiCredentials {
            project_id: Some("p-1".into()),
            ..huawei_credentials()
        };
        assert_eq!(
            huawei("101234567", &bad_project, &mut f).unwrap_err().field,
            "project_id"
        );
    }

    #[test]
    fn honor_checks() {
        let good = HonorCredentials {
            client_id: "honor-client".into(),
            client_secret: SecretText::new("s3cret-value"),
            package_name: None,
            badge_class: Some("com.example.chat.MainActivity".into()),
            action: None,
        };
        let mut f = form(Vendor::Honor, "104000001");
        honor("104000001", &good, &mut f).unwrap();
        assert_eq!(f.text_value("clientId"), Some("honor-client"));
        let missing = HonorCredentials {
            client_secret: SecretText::new(""),
            ..good.clone()
        };
        let err = honor("104000001", &missing, &mut f).unwrap_err();
        assert_eq!(err.field, "client_secret");
        assert!(err.message.contains("missing"), "{}", err.message);
        let spaced = HonorCredentials {
            client_id: "a b".into(),
            ..good
        };
        assert_eq!(
            honor("104000001", &spaced, &mut f).unwrap_err().field,
            "client_id"
        );
    }

    #[test]
    fn oppo_checks() {
        let good = OppoCredentials {
            master_secret: hex(32),
            package_name: PACKAGE.into(),
            channel_id: Some("im".into()),
        };
        let app_key = "0123456789abcdef0123456789abcdef";
        let mut f = form(Vendor::Oppo, app_key);
        oppo(app_key, &good, &mut f).unwrap();
        assert_eq!(oppo("short", &good, &mut f).unwrap_err().field, "name");
        let bad = OppoCredentials {
            master_secret: SecretText::new("not-hex-not-hex-not-hex-not-hex!"),
            ..good
        };
        let err = oppo(app_key, &bad, &mut f).unwrap_err();
        assert_eq!(err.field, "master_secret");
        assert!(err.message.contains("Master Secret"), "{}", err.message);
    }

    #[test]
    fn vivo_checks() {
        let good = VivoCredentials {
            app_key: "key123".into(),
            app_secret: SecretText::new("secret456"),
            package_name: PACKAGE.into(),
            category: None,
            push_type: Some("1".into()),
        };
        let mut f = form(Vendor::Vivo, "105000001");
        vivo("105000001", &good, &mut f).unwrap();
        vivo("105000001#key123", &good, &mut f).unwrap();
        let err = vivo("105000001#other", &good, &mut f).unwrap_err();
        assert_eq!(err.field, "name");
        assert!(err.message.contains("app_key"), "{}", err.message);
        assert_eq!(vivo("abc", &good, &mut f).unwrap_err().field, "name");
        let bad_type = VivoCredentials {
            push_type: Some("2".into()),
            ..good
        };
        assert_eq!(
            vivo("105000001", &bad_type, &mut f).unwrap_err().field,
            "push_type"
        );
    }

    #[test]
    fn xiaomi_checks() {
        let good = XiaomiCredentials {
            app_secret: SecretText::new("Yx3Jz1c0AbCdEfGh12345=="),
            package_name: PACKAGE.into(),
            channel_id: None,
        };
        let mut f = form(Vendor::Xiaomi, "2882303761518000000");
        xiaomi("2882303761518000000", &good, &mut f).unwrap();
        let missing = XiaomiCredentials {
            app_secret: SecretText::new(""),
            ..good
        };
        assert_eq!(
            xiaomi("2882303761518000000", &missing, &mut f)
                .unwrap_err()
                .field,
            "app_secret"
        );
    }

    #[test]
    fn meizu_checks() {
        let good = MeizuCredentials {
            app_secret: hex(32),
            package_name: PACKAGE.into(),
            click_activity: None,
        };
        let mut f = form(Vendor::Meizu, "110071");
        meizu("110071", &good, &mut f).unwrap();
        let bad = MeizuCredentials {
            app_secret: hex(16),
            ..good
        };
        assert_eq!(
            meizu("110071", &bad, &mut f).unwrap_err().field,
            "app_secret"
        );
    }
}
