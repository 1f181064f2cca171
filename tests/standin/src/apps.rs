//! Apps with their users, bindings and notifiers.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::{Standin, now_millis};

/// An app to create with [`Standin::add_app`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSeed {
    /// Organization name, the first half of the app key `org#app`.
    pub org: String,
    /// App name, the second half of the app key `org#app`.
    pub name: String,
    /// App ID, used in the `/app-id/{app_id}` path form.
    pub app_id: String,
    /// Client ID accepted by the token route.
    pub client_id: String,
    /// Client secret accepted by the token route.
    pub client_secret: String,
}

impl AppSeed {
    /// Returns the app key `org#app` that the state methods take.
    pub fn key(&self) -> String {
        format!("{}#{}", self.org, self.name)
    }
}

/// A push certificate ("notifier") to create with [`Standin::add_notifier`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierSeed {
    /// Certificate name, the `notifier_name` that devices bind with.
    pub name: String,
    /// Vendor code such as `APNS`, `ANDROID` or `HUAWEIPUSH`. Any string is
    /// stored as given.
    pub provider: String,
    /// `DEVELOPMENT` or `PRODUCTION`. Any string is stored as given.
    pub environment: String,
    /// Bundle ID or package name, sent as `packageName` when present.
    pub package_name: Option<String>,
    /// Whether the certificate is disabled.
    pub disabled: bool,
}

impl NotifierSeed {
    /// Creates an enabled `DEVELOPMENT` notifier with no package name.
    pub fn new(name: impl Into<String>, provider: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            provider: provider.into(),
            environment: "DEVELOPMENT".to_owned(),
            package_name: None,
            disabled: false,
        }
    }
}

/// One device binding of a user, in the shape the server returns it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Binding {
    /// The device the binding belongs to.
    pub device_id: String,
    /// The certificate name the device bound with.
    pub notifier_name: String,
    /// The vendor's device token.
    pub device_token: String,
}

/// A stored notifier with its server-side fields.
#[derive(Clone, Debug)]
pub(crate) struct Notifier {
    pub(crate) uuid: String,
    pub(crate) seed: NotifierSeed,
    /// Creation time, in milliseconds since the Unix epoch.
    pub(crate) created: u64,
    /// Last change, in milliseconds since the Unix epoch.
    pub(crate) modified: u64,
    /// Names of the form parts it was uploaded with; empty for a seeded
    /// notifier. Values are not kept, because some are secrets.
    pub(crate) uploaded_parts: Vec<String>,
    /// The vendor settings that are not secrets, by form part name.
    pub(crate) settings: BTreeMap<String, String>,
}

/// Device tokens of one user, keyed by `(device_id, notifier_name)`.
type UserBindings = BTreeMap<(String, String), String>;

/// One app and everything stored under it.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) seed: AppSeed,
    /// The app's UUID, returned as `application` by the token route.
    pub(crate) uuid: String,
    users: BTreeMap<String, UserBindings>,
    notifiers: Vec<Notifier>,
}

/// All apps, keyed by app key.
#[derive(Debug, Default)]
pub(crate) struct Apps {
    by_key: BTreeMap<String, App>,
}

/// How a request names its app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AppRef {
    /// `/{org}/{app}`: the app key `org#app`.
    Key(String),
    /// `/app-id/{app_id}`.
    Id(String),
}

impl Apps {
    /// Finds the app key of the app a request names.
    pub(crate) fn resolve(&self, app: &AppRef) -> Option<String> {
        match app {
            AppRef::Key(key) => self.by_key.contains_key(key).then(|| key.clone()),
            AppRef::Id(id) => self
                .by_key
                .values()
                .find(|app| &app.seed.app_id == id)
                .map(|app| app.seed.key()),
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut App> {
        self.by_key.get_mut(key)
    }
}

impl App {
    fn new(seed: AppSeed) -> Self {
        Self {
            seed,
            uuid: Uuid::new_v4().to_string(),
            users: BTreeMap::new(),
            notifiers: Vec::new(),
        }
    }

    /// Applies a bind or unbind request and returns the bindings of that
    /// device that remain. An empty `notifier_name` removes every binding of
    /// the device, an empty `device_token` removes the one binding, and
    /// anything else creates or replaces it. The notifier need not exist.
    ///
    /// Returns `None` when the user does not exist.
    pub(crate) fn put_binding(&mut self, user_id: &str, request: Binding) -> Option<Vec<Binding>> {
        let bindings = self.users.get_mut(user_id)?;
        let Binding {
            device_id,
            notifier_name,
            device_token,
        } = request;
        if notifier_name.is_empty() {
            bindings.retain(|(device, _), _| device != &device_id);
        } else if device_token.is_empty() {
            bindings.remove(&(device_id.clone(), notifier_name));
        } else {
            bindings.insert((device_id.clone(), notifier_name), device_token);
        }
        Some(self.device_bindings(user_id, &device_id))
    }

    /// Returns the bindings of one device of a user, sorted.
    fn device_bindings(&self, user_id: &str, device_id: &str) -> Vec<Binding> {
        self.user_bindings(user_id)
            .unwrap_or_default()
            .into_iter()
            .filter(|binding| binding.device_id == device_id)
            .collect()
    }

    /// Returns every binding of a user sorted, or `None` when the user does
    /// not exist.
    pub(crate) fn user_bindings(&self, user_id: &str) -> Option<Vec<Binding>> {
        let bindings = self.users.get(user_id)?;
        let list = bindings
            .iter()
            .map(|((device_id, notifier_name), device_token)| Binding {
                device_id: device_id.clone(),
                notifier_name: notifier_name.clone(),
                device_token: device_token.clone(),
            })
            .collect();
        Some(list)
    }

    pub(crate) fn notifiers(&self) -> &[Notifier] {
        &self.notifiers
    }

    fn notifier_mut(&mut self, name: &str) -> Option<&mut Notifier> {
        self.notifiers.iter_mut().find(|n| n.seed.name == name)
    }

    /// Stores an uploaded notifier unless one of that name and provider
    /// exists; returns the stored one, or `None` for a duplicate.
    pub(crate) fn create_notifier(&mut self, notifier: Notifier) -> Option<Notifier> {
        let duplicate = self.notifiers.iter().any(|n| {
            n.seed.name == notifier.seed.name && n.seed.provider == notifier.seed.provider
        });
        if duplicate {
            return None;
        }
        self.notifiers.push(notifier.clone());
        Some(notifier)
    }

    /// Removes the notifier `uuid` and returns it.
    pub(crate) fn delete_notifier(&mut self, uuid: &str) -> Option<Notifier> {
        let index = self.notifiers.iter().position(|n| n.uuid == uuid)?;
        Some(self.notifiers.remove(index))
    }
}

/// Seeding and inspection of apps, users, notifiers and bindings.
///
/// The methods that take an `app_key` panic when no app with that key was
/// added, because that is a mistake in the test that calls them.
impl Standin {
    /// Adds an app.
    ///
    /// # Panics
    ///
    /// Panics when an app with the same key or the same app ID exists.
    pub fn add_app(&self, seed: AppSeed) {
        let key = seed.key();
        let mut state = self.lock();
        let apps = &mut state.apps;
        assert!(
            apps.resolve(&AppRef::Key(key.clone())).is_none(),
            "app {key} was already added"
        );
        assert!(
            apps.resolve(&AppRef::Id(seed.app_id.clone())).is_none(),
            "app ID {} is already used by another app",
            seed.app_id
        );
        apps.by_key.insert(key, App::new(seed));
    }

    /// Adds a user with no bindings. Adding an existing user changes nothing.
    pub fn add_user(&self, app_key: &str, user_id: &str) {
        self.with_app(app_key, |app| {
            app.users.entry(user_id.to_owned()).or_default();
        });
    }

    /// Adds a notifier and returns its UUID. Names are not checked for
    /// uniqueness.
    pub fn add_notifier(&self, app_key: &str, seed: NotifierSeed) -> String {
        let now = now_millis();
        let notifier = Notifier {
            uuid: Uuid::new_v4().to_string(),
            seed,
            created: now,
            modified: now,
            uploaded_parts: Vec::new(),
            settings: BTreeMap::new(),
        };
        let uuid = notifier.uuid.clone();
        self.with_app(app_key, |app| app.notifiers.push(notifier));
        uuid
    }

    /// Removes every notifier with this name and returns whether there was
    /// one. Bindings made with the name stay.
    pub fn remove_notifier(&self, app_key: &str, name: &str) -> bool {
        self.with_app(app_key, |app| {
            let before = app.notifiers.len();
            app.notifiers.retain(|n| n.seed.name != name);
            app.notifiers.len() != before
        })
    }

    /// Disables or enables the first notifier with this name and returns
    /// whether there was one.
    pub fn set_notifier_disabled(&self, app_key: &str, name: &str, disabled: bool) -> bool {
        self.with_app(app_key, |app| {
            let Some(notifier) = app.notifier_mut(name) else {
                return false;
            };
            notifier.seed.disabled = disabled;
            notifier.modified = now_millis();
            true
        })
    }

    /// Returns the notifiers with this name as (uuid, provider), in the order
    /// they were added.
    pub fn notifiers_named(&self, app_key: &str, name: &str) -> Vec<(String, String)> {
        self.with_app(app_key, |app| {
            app.notifiers
                .iter()
                .filter(|n| n.seed.name == name)
                .map(|n| (n.uuid.clone(), n.seed.provider.clone()))
                .collect()
        })
    }

    /// Returns the names of the form parts the notifier `uuid` was uploaded
    /// with, and its settings that are not secrets; `None` when there is no
    /// such notifier.
    pub fn upload_of(
        &self,
        app_key: &str,
        uuid: &str,
    ) -> Option<(Vec<String>, BTreeMap<String, String>)> {
        self.with_app(app_key, |app| {
            let notifier = app.notifiers.iter().find(|n| n.uuid == uuid)?;
            Some((notifier.uploaded_parts.clone(), notifier.settings.clone()))
        })
    }

    /// Returns every binding of a user, sorted; empty for an unknown user.
    pub fn bindings(&self, app_key: &str, user_id: &str) -> Vec<Binding> {
        self.with_app(app_key, |app| {
            app.user_bindings(user_id).unwrap_or_default()
        })
    }

    /// Removes one binding the way the server does when a vendor rejects its
    /// token, and returns whether it existed.
    pub fn drop_binding(
        &self,
        app_key: &str,
        user_id: &str,
        device_id: &str,
        notifier_name: &str,
    ) -> bool {
        self.with_app(app_key, |app| {
            let Some(bindings) = app.users.get_mut(user_id) else {
                return false;
            };
            let key = (device_id.to_owned(), notifier_name.to_owned());
            bindings.remove(&key).is_some()
        })
    }

    /// Runs `action` on the app with this key.
    ///
    /// # Panics
    ///
    /// Panics when no such app was added.
    pub(crate) fn with_app<T>(&self, app_key: &str, action: impl FnOnce(&mut App) -> T) -> T {
        let mut state = self.lock();
        let Some(app) = state.apps.get_mut(app_key) else {
            panic!("no app {app_key} was added; call Standin::add_app first");
        };
        action(app)
    }
}
