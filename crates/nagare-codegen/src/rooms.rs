//! The rooms of a service (the design's `room` blocks): one typed family of
//! rooms per method that follows one, built on the broker the service is given,
//! with the payload's room key and a `follow_<method>` that streams the room
//! (and joins its presence) in one call.

use nagare_design::Service;
use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::doc;
use crate::model::MethodInfo;
use crate::names::Scope;
use crate::names::{const_ident, field_ident};

/// The room key of a method's payload, the history constant, and the
/// service's `Rooms` (nothing when no method follows a room).
pub(crate) fn render(service: &Service, methods: &[MethodInfo]) -> TokenStream {
    let rooms: Vec<&MethodInfo> = methods.iter().filter(|m| m.is_resumable()).collect();
    if rooms.is_empty() {
        return quote!();
    }
    let constants = rooms.iter().map(|m| render_constants(m));
    let fields = rooms.iter().map(|m| {
        let f = m.fn_ident();
        let r = m.result(Scope::Service).unwrap_or_else(|| quote!(()));
        quote!(#f: nagare::Rooms<#r>)
    });
    let inits = rooms.iter().map(|m| {
        let f = m.fn_ident();
        let history = const_ident(&format!("{}_history", m.method.name));
        let bytes = const_ident(&format!("{}_history_bytes", m.method.name));
        let name = format!("{}.{}", service.name, m.method.name);
        quote!(#f: nagare::Rooms::new(broker.clone(), #name, nagare::broker::RoomConfig::new(#history).with_history_bytes(#bytes)))
    });
    let reconfigure = rooms.iter().map(|m| {
        let f = m.fn_ident();
        let name = &m.method.name;
        quote!(self.#f = self.#f.reconfigured(|c| change(#name, c));)
    });
    let accessors = rooms.iter().map(|m| render_accessor(m));
    let follows = rooms.iter().map(|m| render_follow(m));
    let sdoc = doc(&format!(
        "The rooms the `{}` service's streams follow, on one broker: give the\nservice a `nagare::MemoryBroker` to keep them in this process, or a Redis\nbroker to share them between server processes. Clones share the rooms.",
        service.name
    ));
    quote! {
        #(#constants)*

        #sdoc
        #[derive(Clone, Debug)]
        pub struct Rooms {
            broker: nagare::SharedBroker,
            #(#fields,)*
        }

        impl Rooms {
            /// The service's rooms on `broker`.
            pub fn new(broker: nagare::SharedBroker) -> Self {
                Rooms {
                    #(#inits,)*
                    broker,
                }
            }

            /// The same rooms with their settings (history size, TTLs) changed
            /// by `change`, which is given each room's method name.
            pub fn reconfigured(mut self, change: impl Fn(&str, &mut nagare::broker::RoomConfig)) -> Self {
                #(#reconfigure)*
                self
            }

            /// The broker the rooms live on.
            pub fn broker(&self) -> &nagare::SharedBroker {
                &self.broker
            }

            #(#accessors)*
            #(#follows)*
        }
    }
}

/// `SUBSCRIBE_HISTORY` and, for a keyed room, the payload's `room_key()`.
fn render_constants(m: &MethodInfo) -> TokenStream {
    let Some(room) = &m.method.room else {
        return quote!();
    };
    let constant = const_ident(&format!("{}_history", m.method.name));
    let history = proc_macro2::Literal::usize_unsuffixed(room.history);
    let cdoc = doc(&format!(
        "Messages the `{}` room keeps for clients that come back and for history\nreads (the design's `room` block).",
        m.method.name
    ));
    let key = match m.payload(Scope::Service) {
        Some(p) if !room.key.is_empty() => {
            let fields = room.key.iter().map(|k| field_ident(k));
            let kdoc = doc(&format!(
                "The key of the `{}` room this payload names: {}.",
                m.method.name,
                attribute_list(&room.key)
            ));
            quote! {
                impl #p {
                    #kdoc
                    pub fn room_key(&self) -> String {
                        nagare::codegen::rooms::room_key(&[#(&self.#fields),*])
                    }
                }
            }
        }
        _ => quote!(),
    };
    let bytes_constant = const_ident(&format!("{}_history_bytes", m.method.name));
    let bytes = match room.history_bytes {
        Some(b) => {
            let b = proc_macro2::Literal::usize_unsuffixed(b);
            quote!(#b)
        }
        None => quote!(nagare::broker::DEFAULT_HISTORY_BYTES),
    };
    let bdoc = doc(&format!(
        "Bytes of messages the `{}` room keeps at most: past them, the oldest are\nforgotten (the design's `history_bytes`, or the runtime's default).",
        m.method.name
    ));
    quote! {
        #cdoc
        pub const #constant: usize = #history;

        #bdoc
        pub const #bytes_constant: usize = #bytes;

        #key
    }
}

/// `pub fn subscribe(&self, room: impl ToString) -> nagare::Room<Event>`.
fn render_accessor(m: &MethodInfo) -> TokenStream {
    let Some(room) = &m.method.room else {
        return quote!();
    };
    let f = m.fn_ident();
    let r = m.result(Scope::Service).unwrap_or_else(|| quote!(()));
    let params: Vec<_> = room.key.iter().map(|k| field_ident(k)).collect();
    let adoc = if room.key.is_empty() {
        doc(&format!(
            "The `{}` room: publish into it, read its history, see who follows it.",
            m.method.name
        ))
    } else {
        doc(&format!(
            "The `{}` room named by {}: publish into it, read its history, see who\nfollows it.",
            m.method.name,
            attribute_list(&room.key)
        ))
    };
    let key = if params.is_empty() {
        quote!("")
    } else {
        quote!(&nagare::codegen::rooms::room_key(&[#(&#params),*]))
    };
    quote! {
        #adoc
        pub fn #f(&self, #(#params: impl ::std::fmt::Display),*) -> nagare::Room<#r> {
            self.#f.room(#key)
        }
    }
}

/// `follow_subscribe(&self, payload, stream)`: the room the payload names,
/// streamed until the client leaves, with the client present meanwhile.
fn render_follow(m: &MethodInfo) -> TokenStream {
    let Some(room) = &m.method.room else {
        return quote!();
    };
    let f = m.fn_ident();
    let follow = crate::names::ident(&format!("follow_{}", m.plain_name()));
    let r = m.result(Scope::Service).unwrap_or_else(|| quote!(()));
    let payload_ty = m.payload(Scope::Service);
    let payload_param = payload_ty.as_ref().map(|p| quote!(payload: &#p,));
    let keys = room.key.iter().map(|k| {
        let k = field_ident(k);
        quote!(&payload.#k)
    });
    let join = room.presence.as_ref().map(|info| {
        let fields = info.iter().map(|a| {
            let id = field_ident(a);
            quote!(info.field(#a, &payload.#id);)
        });
        let build = if info.is_empty() {
            quote!(None)
        } else {
            quote!(nagare::codegen::rooms::member_info(|info| { #(#fields)* }))
        };
        quote! {
            let _present = room.join(nagare::broker::Member::new(#build)).await?;
        }
    });
    let mut text = if room.key.is_empty() {
        format!("Streams the `{}` room to the client:", m.method.name)
    } else {
        format!(
            "Streams the `{}` room the payload names to the client:",
            m.method.name
        )
    };
    text.push_str(
        "\nwhat a returning client missed, then every message published, until it\nleaves.",
    );
    if let Some(info) = &room.presence {
        text.push_str(" Meanwhile the client is a member of the room's presence");
        if !info.is_empty() {
            text.push_str(&format!(",\ndescribed by {}", attribute_list(info)));
        }
        text.push('.');
    }
    let fdoc = doc(&text);
    quote! {
        #fdoc
        pub async fn #follow(
            &self,
            #payload_param
            stream: &mut impl AsMut<nagare::StreamSender<#r>>,
        ) -> Result<(), nagare::StreamError> {
            let room = self.#f(#(#keys),*);
            #join
            stream.as_mut().follow(&room).await
        }
    }
}

fn attribute_list(attrs: &[String]) -> String {
    attrs
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
