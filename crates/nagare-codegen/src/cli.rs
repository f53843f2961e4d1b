//! The generated command-line client: one subcommand per service, one per
//! method under it, one flag per payload attribute; streamed messages are read
//! from standard input and results printed as JSON lines.

use nagare_design::{Api, Object, Primitive, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{field_ident, snake};
use crate::service::{element_default, element_is_plain, elements, MethodInfo};

/// The `cli` module of one service.
pub(crate) fn render_service(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let name = &service.name;
    let about = service.description.clone().unwrap_or_default();
    let subcommands = methods.iter().map(method_command);
    let arms = methods.iter().map(method_arm);
    let run_doc =
        format!(" Runs the `{name}` method that `matches` names against the server at `base_url`.");
    quote! {
        /// The command-line client of the service.
        pub mod cli {
            use super::*;
            use nagare::cli::{CliError, LineFormat};
            use nagare::export::clap::{Arg, ArgAction, ArgMatches, Command};

            /// The service's subcommand, with one subcommand per method.
            pub fn command() -> Command {
                Command::new(#name)
                    .about(#about)
                    .subcommand_required(true)
                    #(.subcommand(#subcommands))*
            }

            #[doc = #run_doc]
            pub async fn run(base_url: &str, config: nagare::ConnConfig, matches: &ArgMatches) -> Result<(), CliError> {
                let client = client::Client::new(base_url).with_config(config);
                match matches.subcommand() {
                    #(#arms)*
                    Some((other, _)) => Err(CliError::Usage(format!("unknown method {other:?}"))),
                    None => Err(CliError::Usage("no method given".into())),
                }
            }
        }
    }
}

fn method_command(m: &MethodInfo) -> TokenStream {
    let name = &m.method.name;
    let about = m.method.description.clone().unwrap_or_default();
    let mut long_about = about.clone();
    let input = match m.kind {
        StreamKind::Unary => "Prints the result as JSON.",
        StreamKind::Server => "Prints each result as a JSON line until the server ends the stream.",
        StreamKind::Client => "Sends each line of standard input; end of input ends the stream.",
        StreamKind::ClientWithResult => {
            "Sends each line of standard input; at end of input prints the result."
        }
        _ => "Sends each line of standard input and prints each result as a JSON line; end of input ends the stream.",
    };
    long_about.push_str("\n\n");
    long_about.push_str(input);
    let args = elements(m).into_iter().map(|e| {
        let id = snake(&e.attr.name);
        let long = id.replace('_', "-");
        let mut help = e.attr.description.clone().unwrap_or_default();
        if let Some(d) = &e.attr.default {
            help.push_str(&format!(" [default: {d}]"));
        }
        let required = if e.required {
            quote!(.required(true))
        } else {
            quote!()
        };
        let append = if matches!(e.attr.ty, Type::Array(_)) {
            quote!(.action(ArgAction::Append))
        } else {
            quote!()
        };
        quote!(Arg::new(#id).long(#long).help(#help) #required #append)
    });
    let reconnect = if m.method.resume.is_some() {
        quote! {
            .arg(
                Arg::new("reconnect")
                    .long("reconnect")
                    .action(ArgAction::SetTrue)
                    .help("Reconnect after a drop and resume where the stream stopped (state changes go to standard error)"),
            )
        }
    } else {
        quote!()
    };
    quote!(Command::new(#name).about(#about).long_about(#long_about) #(.arg(#args))* #reconnect)
}

fn method_arm(m: &MethodInfo) -> TokenStream {
    let name = &m.method.name;
    let call = field_ident(&m.method.name);
    let format = line_format(m.method.streaming_payload.as_ref());
    let payload = match &m.payload {
        Some(p) => {
            let fields = elements(m).into_iter().map(|e| {
                let f = field_ident(&e.attr.name);
                let id = snake(&e.attr.name);
                let read = if matches!(e.attr.ty, Type::Array(_)) {
                    quote!(nagare::cli::values(m, #id)?)
                } else if e.required {
                    quote!(nagare::cli::required(m, #id)?)
                } else {
                    quote!(nagare::cli::value(m, #id)?)
                };
                let value = match (element_is_plain(m, &e), e.required, element_default(&e)) {
                    (true, true, _) => read,
                    (true, false, Some(d)) => quote!(#read.unwrap_or(#d)),
                    (true, false, None) => quote!(#read.unwrap_or_default()),
                    (false, _, _) => read,
                };
                quote!(#f: #value,)
            });
            quote!(let payload = #p { #(#fields)* };)
        }
        None => quote!(),
    };
    let arg = m.payload.as_ref().map(|_| quote!(&payload));
    let call = quote!(client.#call(#arg).await.map_err(CliError::failed)?);
    let run = match m.kind {
        StreamKind::Unary if m.method.result.is_some() => {
            let view = match &m.pinned_view {
                Some(v) => quote!(Some(#v)),
                None => quote!(None),
            };
            quote!(nagare::cli::print(&#call, #view))
        }
        StreamKind::Unary => quote!({ #call; Ok(()) }),
        StreamKind::Server if m.method.resume.is_some() => quote! {
            let client = if m.get_flag("reconnect") {
                client.clone().with_reconnect(nagare::cli::reconnect_policy())
            } else {
                client.clone()
            };
            nagare::cli::print_resumable(#call).await
        },
        StreamKind::Server => quote!(nagare::cli::print_results(#call).await),
        StreamKind::Client => quote!(nagare::cli::send_lines(#call, #format).await),
        StreamKind::ClientWithResult => {
            quote!(nagare::cli::send_lines_then_print(#call, #format).await)
        }
        _ if m.method.resume.is_some() => quote! {
            let client = if m.get_flag("reconnect") {
                client.clone().with_reconnect(nagare::cli::reconnect_policy())
            } else {
                client.clone()
            };
            nagare::cli::exchange_resumable(#call.split(), #format).await
        },
        _ => quote!(nagare::cli::exchange(#call.split(), #format).await),
    };
    quote! {
        Some((#name, m)) => {
            let _ = m;
            #payload
            #run
        }
    }
}

/// How a line of input becomes a streamed message: the text itself for strings,
/// the value of the only required string attribute of an object, JSON otherwise.
fn line_format(ty: Option<&Type>) -> TokenStream {
    match ty {
        Some(Type::Primitive(Primitive::String)) => quote!(LineFormat::Text),
        Some(t) => match t.object().and_then(single_text_attribute) {
            Some(name) => quote!(LineFormat::Field(#name)),
            None => quote!(LineFormat::Json),
        },
        None => quote!(LineFormat::Json),
    }
}

fn single_text_attribute(obj: &Object) -> Option<&str> {
    match obj.required.as_slice() {
        [only] => obj
            .get(only)
            .filter(|a| a.ty.primitive() == Some(Primitive::String))
            .map(|a| a.name.as_str()),
        _ => None,
    }
}

/// The top-level `cli` module: `--url` and one subcommand per service.
pub(crate) fn render_api(api: &Api) -> TokenStream {
    let bin = format!("{}-cli", api.name);
    let about = api
        .title
        .clone()
        .or_else(|| api.description.clone())
        .unwrap_or_default();
    let services: Vec<_> = api
        .services
        .iter()
        .map(|s| field_ident(&snake(&s.name)))
        .collect();
    let names = api.services.iter().map(|s| s.name.as_str());
    let doc = format!(
        " The `{bin}` command-line client, generated from the `{}` design.",
        api.name
    );
    quote! {
        #[doc = #doc]
        pub mod cli {
            use nagare::cli::CliError;
            use nagare::export::clap::{Arg, ArgMatches, Command};

            /// The whole command line.
            pub fn command() -> Command {
                Command::new(#bin)
                    .about(#about)
                    .arg(
                        Arg::new("url")
                            .long("url")
                            .global(true)
                            .default_value("http://127.0.0.1:8080")
                            .help("Base URL of the server"),
                    )
                    .args(nagare::cli::connection_args())
                    .subcommand_required(true)
                    #(.subcommand(super::#services::cli::command()))*
            }

            /// Runs the command `matches` describes.
            pub async fn run(matches: &ArgMatches) -> Result<(), CliError> {
                let config = nagare::cli::connection_config(matches)?;
                let url = matches
                    .get_one::<String>("url")
                    .map(String::as_str)
                    .unwrap_or("http://127.0.0.1:8080");
                match matches.subcommand() {
                    #(Some((#names, m)) => super::#services::cli::run(url, config, m).await,)*
                    Some((other, _)) => Err(CliError::Usage(format!("unknown service {other:?}"))),
                    None => Err(CliError::Usage("no service given".into())),
                }
            }

            /// Parses the process arguments and runs the command; the exit code says
            /// whether it succeeded.
            pub async fn main() -> std::process::ExitCode {
                let matches = command().get_matches();
                match run(&matches).await {
                    Ok(()) => std::process::ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e}");
                        std::process::ExitCode::FAILURE
                    }
                }
            }
        }
    }
}
