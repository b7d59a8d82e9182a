//! Validation of `[images]`.

use super::{Validator, is_identifier};
use crate::lab::diagnostic::DiagnosticKind;
use crate::lab::model::{Image, ImageSource, Login, Password, PrivateKey, SecretVariable};
use crate::lab::raw::RawLab;

impl Validator<'_> {
    pub(crate) fn images(&mut self, raw: &RawLab) -> Vec<Image> {
        let mut images = Vec::new();
        for (key, image) in &raw.images {
            let name = key.get().clone();
            if !is_identifier(&name) {
                self.error(
                    DiagnosticKind::InvalidValue,
                    key.range(),
                    format!("invalid image name `{name}`: use letters, digits, `-` and `_`, starting with a letter"),
                )
                .set_label("not a valid name");
            }
            let raw_image = image.get();
            let source = match (&raw_image.ova, &raw_image.vm) {
                (Some(ova), None) => Some(ImageSource::Appliance(self.resolve(ova.get()))),
                (None, Some(vm)) => Some(ImageSource::Vm(vm.get().clone())),
                (Some(_), Some(vm)) => {
                    self.error(
                        DiagnosticKind::Conflict,
                        vm.range(),
                        format!("image `{name}` sets both `ova` and `vm`: an image is an appliance or an existing VM, not both"),
                    )
                    .set_label("remove this or `ova`");
                    None
                }
                (None, None) => {
                    self.error(
                        DiagnosticKind::MissingKey,
                        key.range(),
                        format!("image `{name}` needs `ova` (an appliance file) or `vm` (an existing VM)"),
                    )
                    .set_label("neither `ova` nor `vm` is set");
                    None
                }
            };
            let password = match (&raw_image.password, &raw_image.password_env) {
                (Some(_), Some(env)) => {
                    self.error(
                        DiagnosticKind::Conflict,
                        env.range(),
                        "`password` and `password_env` both set: keep one",
                    )
                    .set_label("conflicts with `password`");
                    None
                }
                (Some(password), None) => Some(Password::Literal(password.get().clone())),
                (None, Some(env)) => Some(Password::Env(env.get().clone())),
                (None, None) => None,
            };
            let private_key = match (&raw_image.key, &raw_image.key_env) {
                (Some(_), Some(env)) => {
                    self.error(
                        DiagnosticKind::Conflict,
                        env.range(),
                        "`key` and `key_env` both set: keep one",
                    )
                    .set_label("conflicts with `key`");
                    None
                }
                (Some(path), None) => Some(PrivateKey::Path(self.resolve(path.get()))),
                (None, Some(env)) => Some(PrivateKey::Env(env.get().clone())),
                (None, None) => None,
            };
            if raw_image.password.is_none()
                && raw_image.password_env.is_none()
                && raw_image.key.is_none()
                && raw_image.key_env.is_none()
            {
                self.error(
                    DiagnosticKind::MissingKey,
                    key.range(),
                    format!("image `{name}` has no credentials: set `password_env`, `password`, `key` or `key_env`"),
                )
                .set_label("labctl could not log in to its VMs");
            }
            let secret_variables = [
                (&raw_image.password_env, "password"),
                (&raw_image.key_env, "private key"),
            ]
            .into_iter()
            .filter_map(|(variable, holds)| {
                let variable = variable.as_ref()?;
                Some(SecretVariable {
                    name: variable.get().clone(),
                    holds,
                    span: self.span(variable.range()),
                })
            })
            .collect();
            let Some(source) = source else { continue };
            images.push(Image {
                name,
                source,
                snapshot: raw_image.snapshot.as_ref().map_or_else(
                    || "labctl-base".to_string(),
                    |snapshot| snapshot.get().clone(),
                ),
                login: Login {
                    user: raw_image.user.get().clone(),
                    password,
                    key: private_key,
                    port: raw_image.ssh_port.as_ref().map_or(22, |port| *port.get()),
                },
                secret_variables,
                span: self.span(key.range()),
            });
        }
        images
    }
}
