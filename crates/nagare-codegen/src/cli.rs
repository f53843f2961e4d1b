//! The generated command-line client: one subcommand per service, one per
//! method under it, one flag per payload attribute; streamed messages are read
//! from standard input and results printed as JSON lines.

use nagare_design::{Api, Object, Primitive, Service, StreamKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::model::MethodInfo;
use crate::names::Scope;
use crate::names::{field_ident, ident, snake};

/// The `cli` module of one service.
pub(crate) fn render_service(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let name = &service.name;
    let about = service.description.clone().unwrap_or_default();
    let subcommands = methods.iter().map(method_command);
    let arms = methods.iter().map(method_arm);
    let flags = methods.iter().any(|m| {
        m.is_resumable()
            || m.elements()
                .iter()
                .any(|e| matches!(e.attr.ty, Type::Array(_)))
    });
    let arg_action = flags.then(|| quote!(ArgAction,));
    let streams_input = methods.iter().any(|m| {
        matches!(
            m.kind,
            StreamKind::Client | StreamKind::ClientWithResult | StreamKind::Bidirectional
        )
    });
    let line_format = streams_input.then(|| {
        quote!(
            use nagare::codegen::cli::LineFormat;
        )
    });
    let run_doc =
        format!(" Runs the `{name}` method that `matches` names against the server at `base_url`.");
    quote! {
        /// The command-line client of the service.
        pub mod cli {
            use nagare::codegen::clap::{Arg, #arg_action ArgMatches, Command};
            #line_format
            use nagare::CliError;

            /// The service's subcommand, with one subcommand per method.
            pub fn command() -> Command {
                Command::new(#name)
                    .about(#about)
                    .subcommand_required(true)
                    #(.subcommand(#subcommands))*
            }

            #[doc = #run_doc]
            pub async fn run(base_url: &str, config: nagare::ConnConfig, matches: &ArgMatches) -> Result<(), CliError> {
                let client = super::client::Client::new(base_url).with_config(config);
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
    let input = match m.kind {
        StreamKind::Unary => "Prints the result as JSON.",
        StreamKind::Server => "Prints each result as a JSON line until the server ends the stream.",
        StreamKind::Client => "Sends each line of standard input; end of input ends the stream.",
        StreamKind::ClientWithResult => {
            "Sends each line of standard input; at end of input prints the result."
        }
        StreamKind::Bidirectional => "Sends each line of standard input and prints each result as a JSON line; end of input ends the stream.",
    };
    let long_about = format!("{about}\n\n{input}");
    let args = m.elements().into_iter().map(|e| {
        let id = snake(&e.attr.name);
        let long = id.replace('_', "-");
        let mut help = e.attr.description.clone().unwrap_or_default();
        if let Some(d) = &e.attr.default {
            help.push_str(&format!(" [default: {d}]"));
        }
        let required = e.required.then(|| quote!(.required(true)));
        let append =
            matches!(e.attr.ty, Type::Array(_)).then(|| quote!(.action(ArgAction::Append)));
        // The design's values, which clap lists in --help and checks.
        let values = e.enum_type().map(|en| {
            let values = en.wire_values();
            quote!(.value_parser([#(#values),*]))
        });
        quote!(Arg::new(#id).long(#long).help(#help) #required #append #values)
    });
    let reconnect = m.is_resumable().then(|| {
        quote! {
            .arg(
                Arg::new("reconnect")
                    .long("reconnect")
                    .action(ArgAction::SetTrue)
                    .help("Reconnect after a drop and resume where the stream stopped (state changes go to standard error)"),
            )
        }
    });
    quote!(Command::new(#name).about(#about).long_about(#long_about) #(.arg(#args))* #reconnect)
}

fn method_arm(m: &MethodInfo) -> TokenStream {
    let name = &m.method.name;
    let call = m.fn_ident();
    let format = line_format(m.method.streaming_payload.as_ref());
    let payload = m.payload(Scope::Child).map(|p| {
        let fields = m.elements().into_iter().map(|e| {
            let f = field_ident(&e.attr.name);
            let id = snake(&e.attr.name);
            let read = if matches!(e.attr.ty, Type::Array(_)) {
                quote!(nagare::codegen::cli::values(m, #id)?)
            } else if e.required {
                quote!(nagare::codegen::cli::required(m, #id)?)
            } else {
                quote!(nagare::codegen::cli::value(m, #id)?)
            };
            let value = match (e.plain, e.required, e.default_value()) {
                (true, true, _) | (false, _, _) => read,
                (true, false, Some(d)) => quote!(#read.unwrap_or(#d)),
                (true, false, None) => quote!(#read.unwrap_or_default()),
            };
            quote!(#f: #value,)
        });
        quote!(let payload = #p { #(#fields)* };)
    });
    let arg = payload.as_ref().map(|_| quote!(&payload));
    let reconnecting = quote! {
        let client = client.clone();
        let client = if m.get_flag("reconnect") {
            client.with_reconnect(nagare::codegen::cli::reconnect_policy())
        } else {
            client
        };
    };
    let call = quote!(client.#call(#arg).await.map_err(CliError::failed)?);
    let run = match m.kind {
        StreamKind::Unary if m.method.result.is_some() => {
            let view = match m.pinned_view() {
                Some(v) => quote!(Some(#v)),
                None => quote!(None),
            };
            quote!(nagare::codegen::cli::print(&#call, #view))
        }
        StreamKind::Unary => quote! {
            #call;
            Ok(())
        },
        StreamKind::Server if m.is_resumable() => quote! {
            #reconnecting
            nagare::codegen::cli::print_resumable(#call).await
        },
        StreamKind::Server => quote!(nagare::codegen::cli::print_results(#call).await),
        StreamKind::Client => quote!(nagare::codegen::cli::send_lines(#call, #format).await),
        StreamKind::ClientWithResult => {
            quote!(nagare::codegen::cli::send_lines_then_print(#call, #format).await)
        }
        StreamKind::Bidirectional if m.is_resumable() => quote! {
            #reconnecting
            nagare::codegen::cli::exchange_resumable(#call.split(), #format).await
        },
        StreamKind::Bidirectional => {
            quote!(nagare::codegen::cli::exchange(#call.split(), #format).await)
        }
    };
    // The flags are read only by methods that have some.
    let uses_flags = payload.is_some() || m.is_resumable();
    let bound = if uses_flags { quote!(m) } else { quote!(_) };
    quote! {
        Some((#name, #bound)) => {
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
/// A document the command line prints (`guide-cli asyncapi`): the command,
/// the constant of the `specs` module holding it, and the help line.
pub(crate) struct Document {
    pub(crate) command: &'static str,
    pub(crate) constant: &'static str,
    pub(crate) help: &'static str,
}

pub(crate) fn render_api(api: &Api, documents: &[Document]) -> TokenStream {
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
    let doc_commands = documents.iter().map(|d| {
        let (command, help) = (d.command, d.help);
        quote!(.subcommand(Command::new(#command).about(#help)))
    });
    let doc_runs = documents.iter().map(|d| {
        let command = d.command;
        let constant = ident(d.constant);
        quote! {
            Some((#command, _)) => {
                print!("{}", super::specs::#constant);
                Ok(())
            }
        }
    });
    quote! {
        #[doc = #doc]
        pub mod cli {
            use nagare::codegen::clap::{Arg, ArgMatches, Command};
            use nagare::CliError;

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
                    .args(nagare::codegen::cli::connection_args())
                    .subcommand_required(true)
                    #(.subcommand(super::#services::cli::command()))*
                    #(#doc_commands)*
            }

            /// Runs the command `matches` describes.
            pub async fn run(matches: &ArgMatches) -> Result<(), CliError> {
                let config = nagare::codegen::cli::connection_config(matches)?;
                let url = matches
                    .get_one::<String>("url")
                    .map_or("http://127.0.0.1:8080", String::as_str);
                match matches.subcommand() {
                    #(Some((#names, m)) => super::#services::cli::run(url, config, m).await,)*
                    #(#doc_runs)*
                    Some((other, _)) => Err(CliError::Usage(format!("unknown service {other:?}"))),
                    None => Err(CliError::Usage("no service given".into())),
                }
            }

            /// Parses the process arguments and runs the command; the exit code says
            /// whether it succeeded, and a failure is printed with its causes.
            pub async fn main() -> std::process::ExitCode {
                let matches = command().get_matches();
                nagare::codegen::cli::exit_code(run(&matches).await)
            }
        }
    }
}
