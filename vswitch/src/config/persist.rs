//! The model on disk: `STATE_DIR/config.json`, written atomically (temp file, fsync, rename,
//! fsync of the directory) so that a crash leaves the old or the new model, never half of one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::Model;

const FILE: &str = "config.json";

/// Why the state dir or a file in it could not be used; names the path.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("state dir {}: cannot create it: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {}: cannot read it: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {}: cannot write it: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {}: {why}; fix or remove the file", path.display())]
    Parse { path: PathBuf, why: String },
}

impl From<PersistError> for String {
    fn from(e: PersistError) -> String {
        e.to_string()
    }
}

pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (creating with mode 0700) the state directory.
    pub fn open(dir: &Path) -> Result<Self, PersistError> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| PersistError::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The persisted model, or an empty one on first start.
    pub fn load(&self) -> Result<Model, PersistError> {
        let Some(text) = self.read(FILE)? else {
            return Ok(Model::default());
        };
        Model::parse("json", &text).map_err(|why| PersistError::Parse {
            path: self.dir.join(FILE),
            why: why.to_string(),
        })
    }

    pub fn save(&self, model: &Model) -> Result<(), PersistError> {
        self.write(FILE, model.to_json().as_bytes())
    }

    /// Replaces the state file `name` with `bytes`, atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), PersistError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|source| PersistError::Write { path, source })
    }

    /// The state file `name`, or `None` when there is none yet.
    pub fn read(&self, name: &str) -> Result<Option<String>, PersistError> {
        let path = self.dir.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PersistError::Read { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads() {
        let dir = std::env::temp_dir().join(format!("vswitch-persist-{}", std::process::id()));
        let sd = StateDir::open(&dir).unwrap();
        assert_eq!(sd.load().unwrap(), Model::default());
        let m = Model::parse("json", r#"{"networks":[{"name":"a","vlan":3}]}"#).unwrap();
        sd.save(&m).unwrap();
        assert_eq!(sd.load().unwrap(), m);
        fs::write(dir.join(FILE), "{").unwrap();
        assert!(sd.load().unwrap_err().to_string().contains("fix or remove"));
        fs::remove_dir_all(dir).unwrap();
    }
}
