// SPDX-License-Identifier: GPL-3.0-or-later
// cloudfilm: turn cloud-film links into DICOM and serve them like a PACS.
#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <clocale>
#include <cstdio>
#include <exception>

int
main(int argc, char** argv)
{
  // The store holds patient data: nothing this process creates (instance
  // files, the SQLite index and WAL, DCMTK's spool files, exports) may be
  // readable by other local users, whatever umask the shell has (S8).
  ::umask(077);
  // libarchive converts zip entry names through the locale's charset; in the
  // "C" locale every non-ASCII name is a conversion failure (S9). Only
  // LC_CTYPE: number formatting stays "C".
  std::setlocale(LC_CTYPE, "C.UTF-8");

  CLI::App cli{"cloudfilm: a DICOM node for cloud films"};
  cli.require_subcommand(0, 1);
  cli.set_version_flag("--version", std::string("cloudfilm ") + CF_VERSION);

  app::CommonOptions common;
  const auto add_common = [&common](CLI::App* cmd) {
    cmd->add_option("--config", common.config_file,
                    "YAML configuration (default: $CLOUDFILM_CONFIG, else built-in defaults)");
    cmd->add_option("--data", common.data_dir, "storage folder (overrides storage.path)");
    cmd->add_flag("-v,--verbose", common.verbose, "debug logging");
  };

  auto* serve = cli.add_subcommand(
      "serve", "run the DICOM node (C-ECHO, C-STORE, C-FIND, C-GET, C-MOVE; forwarding)");
  add_common(serve);
  serve->add_option("--port", common.port, "TCP port (overrides node.port)");

  std::vector<std::string> import_paths;
  auto* import = cli.add_subcommand("import", "import DICOM files, folders, zip files, DICOMDIR");
  add_common(import);
  import->add_option("paths", import_paths, "files, folders, zip files or DICOMDIR")->required();

  std::string har_path;
  auto* import_har = cli.add_subcommand(
      "import-har", "import the DICOM a browser loaded, from a saved HAR capture");
  add_common(import_har);
  import_har->add_option("har", har_path, "HAR file (saved with content)")->required();

  app::LsOptions ls_options;
  auto* ls = cli.add_subcommand("ls", "list what the store holds");
  add_common(ls);
  ls->add_option("what", ls_options.what, "patients | studies (default) | series | instances")
      ->check(CLI::IsMember({"patients", "studies", "series", "instances"}));
  ls->add_option("uid", ls_options.uid, "study UID (series) or series UID (instances)");
  ls->add_flag("--json", ls_options.json, "JSON output");

  bool repair = false;
  auto* check = cli.add_subcommand("check", "compare files and index; --repair fixes them");
  add_common(check);
  check->add_flag("--repair", repair, "index orphan files, drop rows without files");

  std::vector<std::string> delete_uids;
  auto* del = cli.add_subcommand("delete", "delete studies, series or instances (files and index)");
  del->alias("rm");
  add_common(del);
  del->add_option("uids", delete_uids, "study, series or SOP instance UIDs")->required();

  std::string export_uid;
  std::string export_zip;
  auto* exp = cli.add_subcommand("export", "write a study as a zip with a DICOMDIR");
  add_common(exp);
  exp->add_option("study", export_uid, "Study Instance UID")->required();
  exp->add_option("--zip", export_zip, "the zip file to write")->required();

  bool hash_token = false;
  auto* hash = cli.add_subcommand(
      "hash-password", "read a password (or an API token) on stdin, print its hash for http.users");
  hash->add_flag("--token", hash_token,
                 "hash an API token for http.tokens (a new one if stdin is empty)");

  std::vector<std::string> protect_uids;
  bool protect_off = false;
  auto* protect =
      cli.add_subcommand("protect", "keep studies from being recycled (storage.when_full)");
  add_common(protect);
  protect->add_option("uids", protect_uids, "study instance UIDs")->required();
  protect->add_flag("--off", protect_off, "allow recycling again");

  app::SendOptions send_options;
  auto* send =
      cli.add_subcommand("send", "queue studies, series or instances for a configured modality");
  add_common(send);
  send->add_option("uids", send_options.uids, "study, series or SOP instance UIDs")->required();
  send->add_option("--to", send_options.to, "modality name from the configuration")->required();
  send->add_flag("--wait", send_options.wait, "send now from this process and wait for the result");

  app::QueueOptions queue_options;
  auto* queue = cli.add_subcommand("queue", "list forwarding jobs; queue retry|cancel JOB");
  add_common(queue);
  queue->add_option("action", queue_options.action, "retry | cancel")
      ->check(CLI::IsMember({"retry", "cancel"}));
  queue->add_option("job", queue_options.job, "job number");
  queue->add_flag("--json", queue_options.json, "JSON output");

  std::string echo_name;
  auto* echo = cli.add_subcommand("echo", "C-ECHO a configured modality");
  add_common(echo);
  echo->add_option("modality", echo_name, "modality name from the configuration")->required();

  app::FetchOptions fetch_options;
  auto* fetch = cli.add_subcommand("fetch", "download a cloud-film link into the store");
  add_common(fetch);
  fetch->add_option("url", fetch_options.url, "the share link");
  fetch->add_option("--password", fetch_options.password,
                    "share password or code (visible to other users in the process list; "
                    "prefer --password-file, or type it when asked)");
  fetch
      ->add_option("--password-file", fetch_options.password_file,
                   "read the share password or code from the first line of FILE")
      ->check(CLI::ExistingFile);
  fetch->add_option("--out", fetch_options.out,
                    "also write patient-study-date/series/00001.dcm here");
  fetch->add_flag("--raw", fetch_options.raw, "Hinacom: native pixels instead of JPEG 2000");
  fetch->add_option("--study", fetch_options.study_uid, "DICOMweb: StudyInstanceUID");
  fetch->add_option("--resolve", fetch_options.resolve, "host:port:address, like curl --resolve");
  fetch->add_flag("--list-platforms", fetch_options.list_platforms,
                  "print the supported platforms");

  CLI11_PARSE(cli, argc, argv);
  if (fetch->parsed() && fetch_options.url.empty() && !fetch_options.list_platforms) {
    std::fprintf(stderr, "cloudfilm: fetch needs a link (or --list-platforms)\n");
    return 2;
  }
  if (queue->parsed() && !queue_options.action.empty() && queue_options.job <= 0) {
    std::fprintf(stderr, "cloudfilm: queue %s needs a job number\n", queue_options.action.c_str());
    return 2;
  }
  if (cli.get_subcommands().empty()) {
    std::fputs(cli.help().c_str(), stdout);
    return 0;
  }
  if (ls->parsed() && (ls_options.what == "series" || ls_options.what == "instances")
      && ls_options.uid.empty()) {
    std::fprintf(stderr, "cloudfilm: ls %s needs a %s UID\n", ls_options.what.c_str(),
                 ls_options.what == "series" ? "study" : "series");
    return 2;
  }

  if (hash->parsed()) {
    return app::run_hash_password(hash_token);
  }
  common.quiet_dcmtk = !serve->parsed();
  try {
    const auto config = app::load_settings(common);
    if (serve->parsed()) {
      return app::run_serve(config);
    }
    if (import->parsed()) {
      return app::run_import(config, import_paths);
    }
    if (import_har->parsed()) {
      return app::run_import_har(config, har_path);
    }
    if (ls->parsed()) {
      return app::run_ls(config, ls_options);
    }
    if (check->parsed()) {
      return app::run_check(config, repair);
    }
    if (protect->parsed()) {
      return app::run_protect(config, protect_uids, protect_off);
    }
    if (exp->parsed()) {
      return app::run_export(config, export_uid, export_zip);
    }
    if (del->parsed()) {
      return app::run_delete(config, delete_uids);
    }
    if (send->parsed()) {
      return app::run_send(config, send_options);
    }
    if (queue->parsed()) {
      return app::run_queue(config, queue_options);
    }
    if (echo->parsed()) {
      return app::run_echo(config, echo_name);
    }
    if (fetch->parsed()) {
      return app::run_fetch(config, fetch_options);
    }
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "cloudfilm: config: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cloudfilm: %s\n", e.what());
    return 1;
  }
  return 0;
}
