//! Designs the generator refuses, one test per rule: each breaks exactly one and
//! checks the error says what and where. Valid designs that only look risky
//! (types named like the generated code's own items) are generated and compiled
//! by the `nagare-features` crate.

use nagare_codegen::{Builder, GenerateError};
use nagare_design::*;

/// A valid bidirectional method; tests add what they break.
fn echo(m: &mut Method) {
    m.streaming_payload(|p| {
        p.attribute("message", STRING, "Message");
        p.required(["message"]);
    });
    m.streaming_result(|r| {
        r.attribute("message", STRING, "Message");
        r.required(["message"]);
    });
    m.http(|h| {
        h.get("/echo");
    });
}

fn refusal(design: Api) -> String {
    match Builder::new().cli(true).render(&design) {
        Ok(_) => panic!("the design was generated"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_design_type_named_like_a_name_of_the_service_module_is_refused() {
    for name in ["Error", "Service", "String", "Serialize"] {
        let t = type_(name, |t| {
            t.attribute("a", STRING, "");
        });
        let e = refusal(api("x", |a| {
            a.service("chat", |s| {
                s.method("echo", |m| {
                    echo(m);
                    m.streaming_result_type(&t);
                });
            });
        }));
        assert_eq!(
            e,
            format!("service \"chat\": \"{name}\" clashes with a name the generated module uses in the generated code; rename it in the design")
        );
    }
}

#[test]
fn a_design_type_named_like_a_generated_stream_is_refused() {
    let t = type_("EchoServerStream", |t| {
        t.attribute("a", STRING, "");
    });
    let e = refusal(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result_type(&t);
            });
        });
    }));
    assert!(
        e.contains("\"EchoServerStream\" clashes with the stream of method \"echo\""),
        "{e}"
    );
}

#[test]
fn two_different_types_with_one_name_are_refused() {
    // The method's inline payload is named `EchoPayload`; so is this type.
    let t = type_("EchoPayload", |t| {
        t.attribute("other", INT, "");
    });
    let e = refusal(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.attribute("room", STRING, "");
                });
                m.http(|h| {
                    h.param("room");
                });
            });
            s.method("other", |m| {
                echo(m);
                m.streaming_result_type(&t);
                m.http = None;
                m.http(|h| {
                    h.get("/other");
                });
            });
        });
    }));
    assert!(
        e.contains("\"EchoPayload\" clashes with another type of the service by that name"),
        "{e}"
    );
}

#[test]
fn a_designed_error_named_like_a_shared_error_variant_is_refused() {
    let e = refusal(api("x", |a| {
        a.service("chat", |s| {
            s.error("stream", STRING, "");
            s.method("echo", echo);
        });
    }));
    assert!(
        e.contains("\"stream\" clashes with the Error::Stream variant every service has"),
        "{e}"
    );
}

#[test]
fn two_errors_or_methods_that_would_share_a_rust_name_are_refused() {
    let e = refusal(api("x", |a| {
        a.service("chat", |s| {
            s.error("not-found", STRING, "");
            s.error("not_found", STRING, "");
            s.method("echo", echo);
        });
    }));
    assert!(
        e.contains("\"not_found\" clashes with error \"not-found\" (both are Error::NotFound)"),
        "{e}"
    );
    let e = refusal(api("x", |a| {
        a.service("chat", |s| {
            s.method("get-item", echo);
            s.method("get_item", |m| {
                echo(m);
                m.http = None;
                m.http(|h| {
                    h.get("/item");
                });
            });
        });
    }));
    assert!(
        e.contains("\"GetItemServerStream\" clashes with the stream of method \"get-item\""),
        "{e}"
    );
}

#[test]
fn a_method_named_like_a_security_hook_is_refused() {
    let e = refusal(api("x", |a| {
        a.service("chat", |s| {
            s.method("jwt_auth", echo);
        });
    }));
    assert!(
        e.contains("\"jwt_auth\" clashes with the service trait's security hook"),
        "{e}"
    );
}

#[test]
fn a_service_named_cli_is_refused_when_the_command_line_is_generated() {
    let design = api("x", |a| {
        a.service("cli", |s| {
            s.method("echo", echo);
        });
    });
    let e = refusal(design.clone());
    assert!(e.contains("the command-line module"), "{e}");
    // Without the command line, there is nothing to clash with.
    assert!(Builder::new().render(&design).is_ok());
}

#[test]
fn services_named_like_the_documents_module_or_commands_are_refused_when_documents_are_on() {
    for (name, with_documents, what) in [
        (
            "specs",
            Builder::new().asyncapi(true),
            "the module of the API's documents",
        ),
        (
            "asyncapi",
            Builder::new().cli(true).asyncapi(true),
            "prints a document",
        ),
        (
            "openapi",
            Builder::new().cli(true).openapi(true),
            "prints a document",
        ),
    ] {
        let design = api("x", |a| {
            a.service(name, |s| {
                s.method("echo", echo);
            });
        });
        match with_documents.render(&design) {
            Err(e) => assert!(e.to_string().contains(what), "{name}: {e}"),
            Ok(_) => panic!("a service named {name} was accepted"),
        }
        assert!(Builder::new().cli(true).render(&design).is_ok(), "{name}");
    }
}

#[test]
fn a_browser_client_refuses_what_a_browser_cannot_send_on_an_upgrade() {
    let design = api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.attribute("room", STRING, "");
                });
                m.http = None;
                m.http(|h| {
                    h.get("/echo").header("room:X-Room");
                });
            });
        });
    });
    let e = Builder::new()
        .javascript(true)
        .render_javascript(&design)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("browsers cannot set headers or cookies on an upgrade"),
        "{e}"
    );
    // The Rust client sends headers: only the browser client refuses.
    assert!(Builder::new().render(&design).is_ok());
}

#[test]
fn a_service_named_browser_is_refused_when_the_browser_client_is_generated() {
    let design = api("x", |a| {
        a.service("browser", |s| {
            s.method("echo", echo);
        });
    });
    let e = Builder::new()
        .javascript(true)
        .render(&design)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("the module of the browser client"), "{e}");
}

#[test]
fn bytes_outside_a_json_body_are_unsupported() {
    let design = api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.attribute("sig", BYTES, "");
                });
                m.http(|h| {
                    h.param("sig");
                });
            });
        });
    });
    match Builder::new().render(&design) {
        Err(GenerateError::Unsupported {
            service,
            method,
            what,
        }) => {
            assert_eq!((service.as_str(), method.as_str()), ("chat", "echo"));
            assert_eq!(
                what,
                "the bytes attribute \"sig\" in the query string (bytes travel in JSON bodies only)"
            );
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
}

#[test]
fn an_invalid_design_is_refused_before_anything_is_generated() {
    let design = api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http = None;
            });
        });
    });
    match Builder::new().render(&design) {
        Err(GenerateError::InvalidDesign(errors)) => {
            assert_eq!(errors.0.len(), 1);
            assert!(errors.0[0].message.starts_with("no HTTP mapping"));
            // The line of this file that declares the method.
            assert_eq!(errors.0[0].source.map(|s| s.file()), Some(file!()));
        }
        other => panic!("expected an invalid design, got {other:?}"),
    }
}

#[test]
fn a_command_line_without_a_client_is_refused() {
    let design = api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", echo);
        });
    });
    let e = match Builder::new().cli(true).client(false).render(&design) {
        Ok(_) => panic!("the design was generated"),
        Err(e) => e,
    };
    assert!(matches!(e, GenerateError::Switches(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Builder::cli(true) writes a command line that calls the service through its client, which Builder::client(false) leaves out: drop one of the two"
    );
}
