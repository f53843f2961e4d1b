//! One test per design rule: each builds a design that breaks exactly that rule and
//! checks the message names the location and the rule.

use nagare_design::*;

/// A valid bidirectional method; tests break it in one place.
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

/// Each problem as `location: rule` (the source line is checked on its own).
fn errors(design: Api) -> Vec<String> {
    match design.validate() {
        Ok(()) => Vec::new(),
        Err(e) => {
            e.0.iter()
                .map(|e| format!("{}: {}", e.location, e.message))
                .collect()
        }
    }
}

fn single_error(design: Api) -> String {
    let errs = errors(design);
    assert_eq!(errs.len(), 1, "expected exactly one error, got {errs:#?}");
    errs.into_iter().next().unwrap_or_default()
}

#[test]
fn valid_design_passes() {
    assert!(errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", echo);
        });
    }))
    .is_empty());
}

#[test]
fn streaming_method_must_use_get() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http = None;
                m.http(|h| {
                    h.post("/echo");
                });
            });
        });
    }));
    assert_eq!(
        e,
        "service \"chat\" method \"echo\": http: WebSocket endpoints must use GET: the upgrade is a GET request (got POST /echo)"
    );
}

#[test]
fn required_must_name_a_known_attribute() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_payload(|p| {
                    p.attribute("message", STRING, "Message");
                    p.required(["mesage"]);
                });
            });
        });
    }));
    assert_eq!(
        e,
        "service \"chat\" method \"echo\": streaming_payload: required: required(\"mesage\") names an unknown attribute"
    );
}

#[test]
fn errors_point_at_the_line_of_the_design_that_breaks_the_rule() {
    let line = line!() + 6;
    let design = api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result(|r| {
                    r.attribute("n", STRING, "").minimum(1);
                });
            });
        });
    });
    let e = design.validate().err().map(|e| e.0).unwrap_or_default();
    assert_eq!(e.len(), 1, "{e:#?}");
    let source = e[0].source.expect("the attribute's call site");
    assert_eq!((source.file(), source.line()), (file!(), line));
    assert_eq!(
        e[0].to_string(),
        format!(
            "{}:{line}:{}: service \"chat\" method \"echo\": streaming_result attribute \"n\": minimum and maximum apply to numbers only",
            file!(),
            source.column()
        )
    );
}

/// The line of the only error of `design`.
fn error_line(design: Api) -> (&'static str, u32) {
    let e = design.validate().err().map(|e| e.0).unwrap_or_default();
    assert_eq!(e.len(), 1, "{e:#?}");
    let source = e[0].source.expect("a call site");
    (source.file(), source.line())
}

#[test]
fn a_path_parameter_or_a_required_name_points_at_its_own_call() {
    // The route's `get(..)`, not the `http(..)` block (nor the DSL's code).
    let line = line!() + 7;
    let path = error_line(api("x", |a| {
        a.service("chat", |s| {
            s.method("watch", |m| {
                m.payload(|_| {});
                m.streaming_result_type(STRING);
                m.http(|h| {
                    h.get("/watch/{exchange}");
                });
            });
        });
    }));
    assert_eq!(path, (file!(), line));
    // The `required(..)` call, not the `payload(..)` one.
    let line = line!() + 6;
    let required = error_line(api("x", |a| {
        a.service("chat", |s| {
            s.method("watch", |m| {
                m.payload(|p| {
                    p.attribute("symbol", STRING, "");
                    p.required(["symbol", "exchange"]);
                });
                m.streaming_result_type(STRING);
                m.http(|h| {
                    h.get("/watch").param("symbol");
                });
            });
        });
    }));
    assert_eq!(required, (file!(), line));
}

#[test]
fn a_problem_without_a_call_of_its_own_points_at_the_enclosing_one() {
    let line = line!() + 3;
    let design = api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http = None;
            });
        });
    });
    let e = design.validate().err().map(|e| e.0).unwrap_or_default();
    let source = e
        .first()
        .and_then(|e| e.source)
        .expect("the method's call site");
    assert_eq!((source.file(), source.line()), (file!(), line));
}

#[test]
fn integer_bounds_are_integers_and_compared_exactly() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result(|r| {
                    r.attribute("a", INT64, "").minimum(1.5);
                    // 2^53 + 1 and 2^53 are the same f64, not the same integer.
                    r.attribute("b", INT64, "")
                        .minimum(9_007_199_254_740_993_i64)
                        .maximum(9_007_199_254_740_992_i64);
                    r.attribute("c", UINT64, "").minimum(0).maximum(u64::MAX);
                    r.attribute("d", FLOAT64, "").minimum(-1).maximum(0.5);
                });
            });
        });
    }));
    assert_eq!(
        errs,
        [
            "service \"chat\" method \"echo\": streaming_result attribute \"a\": minimum 1.5 is not an integer, and the attribute is an integer",
            "service \"chat\" method \"echo\": streaming_result attribute \"b\": minimum 9007199254740993 is greater than maximum 9007199254740992",
        ]
    );
}

#[test]
fn error_types_are_strings_goa_errors_or_objects() {
    let rejection = type_("Rejection", |t| {
        t.attribute("reason", STRING, "Why");
    });
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.error("busy", INT, "");
            s.error("gone", STRING, "");
            s.error("refused", ERROR_RESULT, "");
            s.error("rejected", &rejection, "");
            s.method("echo", echo);
        });
    }));
    assert_eq!(
        errs,
        ["service \"chat\" error \"busy\": an error's type must be STRING, ERROR_RESULT or an object type"]
    );
}

#[test]
fn attribute_names_must_be_unique_in_user_types() {
    let t = type_("Event", |t| {
        t.attribute("a", STRING, "");
        t.attribute("a", INT, "");
    });
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result_type(&t);
            });
        });
    }));
    assert_eq!(
        e,
        "type \"Event\" attribute \"a\": duplicate attribute name"
    );
}

#[test]
fn views_must_name_known_attributes() {
    let r = result_type("application/vnd.metric", |r| {
        r.type_name("Metric");
        r.attribute("value", FLOAT64, "");
        r.view("summary", |v| {
            v.attribute("value").attribute("metric");
        });
    });
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result_type(&r);
            });
        });
    }));
    assert_eq!(
        e,
        "type \"Metric\" view \"summary\": view lists unknown attribute \"metric\""
    );
}

#[test]
fn mappings_must_name_payload_attributes() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.attribute("room", STRING, "");
                });
                m.http(|h| {
                    h.param("room")
                        .param("rom")
                        .header("tok:X-Token")
                        .cookie("session");
                });
            });
        });
    }));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs[0].ends_with("param(\"rom\") names an attribute the payload does not have"));
    assert!(errs[1].ends_with("header(\"tok\") names an attribute the payload does not have"));
    assert!(errs[2].ends_with("cookie(\"session\") names an attribute the payload does not have"));
}

#[test]
fn streaming_payload_attributes_must_be_mapped() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.attribute("room", STRING, "");
                    p.attribute("id", STRING, "");
                });
                m.http = None;
                m.http(|h| {
                    h.get("/rooms/{id}/echo");
                });
            });
        });
    }));
    assert_eq!(
        e,
        "service \"chat\" method \"echo\": http: payload attribute \"room\" is not mapped to the path, a param, a header or a cookie: an upgrade request has no body"
    );
}

#[test]
fn path_params_must_name_payload_attributes() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http = None;
                m.http(|h| {
                    h.get("/rooms/{id}");
                });
            });
        });
    }));
    assert!(
        e.ends_with("path parameter {id} names an attribute the payload does not have"),
        "{e}"
    );
}

#[test]
fn routes_must_be_unique_across_services() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", echo);
        });
        a.service("other", |s| {
            s.method("echo", echo);
        });
    }));
    assert_eq!(
        e,
        "service \"other\" method \"echo\": http: duplicate route GET /echo: already used by service \"chat\" method \"echo\""
    );
}

#[test]
fn routes_differing_only_in_param_names_collide() {
    let with_id = |name: &'static str| {
        move |m: &mut Method| {
            echo(m);
            m.payload(|p| {
                p.attribute(name, STRING, "");
            });
            m.http = None;
            m.http(|h| {
                h.get(&format!("/r/{{{name}}}"));
            });
        }
    };
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("a", with_id("id"));
            s.method("b", with_id("key"));
        });
    }));
    assert!(e.contains("duplicate route GET /r/{key}"), "{e}");
}

#[test]
fn mapped_errors_must_be_declared() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.error("unauthorized", STRING, "bad credentials");
                m.http(|h| {
                    h.error_response("unauthorized", 401)
                        .error_response("forbidden", 403);
                });
            });
        });
    }));
    assert_eq!(
        e,
        "service \"chat\" method \"echo\": http: error \"forbidden\" is mapped to a status but not declared with error()"
    );
}

#[test]
fn service_errors_satisfy_method_mappings() {
    assert!(errors(api("x", |a| {
        a.service("chat", |s| {
            s.error("unauthorized", STRING, "");
            s.method("echo", |m| {
                echo(m);
                m.http(|h| {
                    h.error_response("unauthorized", 401);
                });
            });
        });
    }))
    .is_empty());
}

#[test]
fn streaming_request_has_no_body() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.attribute("room", STRING, "");
                });
                m.http(|h| {
                    h.param("room").body("room");
                });
            });
        });
    }));
    assert!(e.contains("a WebSocket upgrade request has no body"), "{e}");
}

#[test]
fn validations_must_fit_the_type() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result(|r| {
                    r.attribute("n", INT, "").pattern("^a$").min_length(1);
                    r.attribute("s", STRING, "").minimum(1).pattern("(");
                    r.attribute("e", INT, "").enum_(["x"]);
                    r.attribute("l", STRING, "").min_length(5).max_length(2);
                });
            });
        });
    }));
    let all = errs.join("\n");
    for expected in [
        "attribute \"n\": format and pattern apply to strings only",
        "attribute \"n\": min_length and max_length apply to strings, bytes, arrays and maps only",
        "attribute \"s\": minimum and maximum apply to numbers only",
        "attribute \"s\": pattern \"(\" is not a valid regular expression",
        "attribute \"e\": enum value \"x\" is not a integer",
        "attribute \"l\": min_length 5 is greater than max_length 2",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in\n{all}");
    }
}

#[test]
fn method_needs_an_http_mapping() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http = None;
            });
        });
    }));
    assert!(
        e.ends_with("no HTTP mapping: add http(|h| { h.get(\"/path\"); })"),
        "{e}"
    );
}

#[test]
fn all_errors_are_collected() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http = None;
                m.http(|h| {
                    h.post("/echo").param("nope");
                });
            });
            s.method("echo", echo);
        });
    }));
    assert!(errs.len() >= 3, "{errs:#?}");
}

fn secured(m: &mut Method) {
    echo(m);
    m.payload(|p| {
        p.token("token", STRING, "JWT");
        p.required(["token"]);
    });
}

#[test]
fn security_must_name_a_declared_scheme() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                secured(m);
                m.security("jwt", ["stream:write"]);
            });
        });
    }));
    assert_eq!(
        e,
        "service \"chat\" method \"echo\": security(\"jwt\"): unknown security scheme: declare it on the API"
    );
}

#[test]
fn required_scopes_must_be_declared_by_the_scheme() {
    let e = single_error(api("x", |a| {
        a.jwt_security("jwt", |s| {
            s.scope("stream:read", "");
        });
        a.service("chat", |s| {
            s.method("echo", |m| {
                secured(m);
                m.security("jwt", ["stream:write"]);
            });
        });
    }));
    assert!(
        e.ends_with("scope \"stream:write\" is not declared by the scheme"),
        "{e}"
    );
}

#[test]
fn secured_payload_must_carry_the_credential() {
    let e = single_error(api("x", |a| {
        a.basic_auth_security("basic", |_| {});
        a.service("chat", |s| {
            s.security("basic", [] as [&str; 0]);
            s.method("echo", |m| {
                echo(m);
                m.payload(|p| {
                    p.username("user", STRING, "");
                });
            });
        });
    }));
    assert!(
        e.ends_with("security(\"basic\"): the payload needs an attribute declared with password(..) to carry the credential"),
        "{e}"
    );
}

#[test]
fn credentials_need_no_explicit_mapping_on_streaming_methods() {
    // The token travels in the Authorization header by default.
    assert!(errors(api("x", |a| {
        a.jwt_security("jwt", |s| {
            s.scope("stream:write", "");
        });
        a.service("chat", |s| {
            s.method("echo", |m| {
                secured(m);
                m.security("jwt", ["stream:write"]);
            });
        });
    }))
    .is_empty());
}

#[test]
fn pinned_result_view_must_exist() {
    let r = result_type("application/vnd.x", |r| {
        r.type_name("Summary");
        r.attribute("a", STRING, "");
        r.view("tiny", |v| {
            v.attribute("a");
        });
    });
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.streaming_result_type(&r);
                m.result_view("huge");
            });
        });
    }));
    assert!(
        e.ends_with("result_view: view \"huge\" is not a view of \"Summary\""),
        "{e}"
    );
}

#[test]
fn ws_settings_are_checked() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("echo", |m| {
                echo(m);
                m.http(|h| {
                    h.ws(|w| {
                        w.outbound_queue(0)
                            .compression(10, 0)
                            .slow_consumer(SlowConsumerPolicy::Disconnect(1006));
                    });
                });
            });
        });
    }));
    let all = errs.join("\n");
    assert!(
        all.contains("ws: outbound_queue must be greater than 0"),
        "{all}"
    );
    assert!(
        all.contains("ws: close code 1006 cannot be sent in a close frame"),
        "{all}"
    );
}

/// A valid resumable server stream keyed by its `room`.
fn feed(m: &mut Method) {
    m.payload(|p| {
        p.attribute("room", STRING, "");
        p.attribute("since", INT, "");
        p.required(["room"]);
    });
    m.streaming_result_type(STRING);
    m.room(|r| {
        r.key(["room"]).history(64).presence(["since"]);
    });
    m.http(|h| {
        h.get("/rooms/{room}/feed").param("since");
    });
}

#[test]
fn a_room_keyed_by_a_required_attribute_passes() {
    assert!(errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("feed", feed);
        });
    }))
    .is_empty());
}

#[test]
fn only_a_streaming_result_can_follow_a_room() {
    let e = single_error(api("x", |a| {
        a.service("chat", |s| {
            s.method("send", |m| {
                m.streaming_payload_type(STRING);
                m.room(|_| {});
                m.http(|h| {
                    h.get("/send");
                });
            });
            // The server half of a bidirectional stream can.
            s.method("echo", |m| {
                echo(m);
                m.room(|_| {});
            });
        });
    }));
    assert_eq!(
        e,
        "service \"chat\" method \"send\": room: only a streaming_result can follow a room (a server or bidirectional stream)"
    );
}

#[test]
fn room_keys_and_presence_must_be_payload_attributes() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("feed", |m| {
                feed(m);
                m.room(|r| {
                    r.key(["room", "since", "topic"]).presence(["user"]);
                });
            });
        });
    }));
    assert_eq!(
        errs,
        vec![
            "service \"chat\" method \"feed\": room: key \"since\" must be required (or have a default): every connection to the room names it".to_owned(),
            "service \"chat\" method \"feed\": room: key \"topic\" names an attribute the payload does not have".to_owned(),
            "service \"chat\" method \"feed\": room: presence \"user\" names an attribute the payload does not have".to_owned(),
        ]
    );
}

#[test]
fn a_room_keeps_at_least_one_message_and_never_drops() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("feed", |m| {
                feed(m);
                m.room(|r| {
                    r.history(0).history_bytes(0);
                });
                m.http(|h| {
                    h.ws(|w| {
                        w.slow_consumer(SlowConsumerPolicy::DropOldest);
                    });
                });
            });
        });
    }));
    assert_eq!(
        errs,
        vec![
            "service \"chat\" method \"feed\": room: history must keep at least one message".to_owned(),
            "service \"chat\" method \"feed\": room: history_bytes must keep at least one byte".to_owned(),
            "service \"chat\" method \"feed\": room: a room's stream cannot drop messages (slow_consumer DropOldest): its clients would see gaps".to_owned(),
        ]
    );
}

#[test]
fn a_failure_limit_is_for_unary_methods_keyed_by_required_attributes() {
    let errs = errors(api("x", |a| {
        a.service("auth", |s| {
            s.method("login", |m| {
                m.payload(|p| {
                    p.attribute("user", STRING, "");
                    p.attribute("nick", STRING, "");
                    p.required(["user"]);
                });
                m.http(|h| {
                    h.post("/login").failures(|f| {
                        f.burst(0).by(["user", "nick", "nobody"]);
                    });
                });
            });
            s.method("feed", |m| {
                feed(m);
                m.http(|h| {
                    h.failures(|_| {});
                });
            });
        });
    }));
    assert_eq!(
        errs,
        vec![
            "service \"auth\" method \"login\": http: failures: burst and per_minute must be greater than 0".to_owned(),
            "service \"auth\" method \"login\": http: failures: by \"nick\" must be a required attribute of a primitive type: every request is keyed by it".to_owned(),
            "service \"auth\" method \"login\": http: failures: by \"nobody\" names an attribute the payload does not have".to_owned(),
            "service \"auth\" method \"feed\": http: failures(..) applies to unary methods only (a stream's peer is limited by its ws(..) settings)".to_owned(),
        ]
    );
}

#[test]
fn a_method_publishes_only_into_a_room_of_its_service() {
    let errs = errors(api("x", |a| {
        a.service("chat", |s| {
            s.method("feed", feed);
            s.method("send", |m| {
                m.streaming_payload_type(STRING);
                m.publishes("feed").publishes("nowhere").publishes("send");
                m.http(|h| {
                    h.get("/send");
                });
            });
        });
    }));
    assert_eq!(
        errs,
        vec![
            "service \"chat\" method \"send\": publishes: no method \"nowhere\" in service \"chat\"".to_owned(),
            "service \"chat\" method \"send\": publishes: method \"send\" has no room to publish into (give it a room block)".to_owned(),
        ]
    );
}

#[test]
fn a_server_needs_an_http_url_and_a_unique_name() {
    let errs = errors(api("x", |a| {
        a.server("local", "http://localhost:8080");
        a.server("local", "https://example.com/api");
        a.server("edge", "ws://localhost");
        a.server("Bad Name", "https://");
        a.service("chat", |s| {
            s.method("echo", echo);
        });
    }));
    assert_eq!(
        errs,
        [
            "server \"local\": duplicate server name",
            "server \"edge\": url \"ws://localhost\" must be http://host[:port][/path] or https://...",
            "server \"Bad Name\": name must be a lower-case identifier (letters, digits, '_' or '-')",
            "server \"Bad Name\": url \"https://\" must be http://host[:port][/path] or https://...",
        ]
    );
}
