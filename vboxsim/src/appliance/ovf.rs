//! OVF 1.0 descriptors: parsing what `import` needs, and writing the one `make-ova` ships.

use quick_xml::Reader;
use quick_xml::events::Event;

/// A disk of the package (`DiskSection/Disk` joined with its `References/File`).
#[derive(Clone, Debug, Default)]
pub struct OvfDisk {
    pub id: String,
    pub href: String,
    pub capacity: u64,
    pub populated: u64,
}

/// A hardware item of a virtual system.
#[derive(Clone, Debug, Default)]
pub struct OvfItem {
    pub instance_id: String,
    pub resource_type: u32,
    pub subtype: String,
    pub quantity: u64,
    pub units: String,
    pub connection: String,
    pub host_resource: String,
    pub parent: String,
    pub address_on_parent: String,
    pub address: String,
    pub element_name: String,
}

/// A virtual system of the package.
#[derive(Clone, Debug, Default)]
pub struct VirtualSystem {
    pub id: String,
    pub os_type: String,
    pub description: String,
    pub items: Vec<OvfItem>,
    pub properties: Vec<(String, String)>,
    /// MACs recorded in VirtualBox's `vbox:Machine` section, by slot.
    pub macs: Vec<(u32, String)>,
}

#[derive(Clone, Debug, Default)]
pub struct Ovf {
    pub disks: Vec<OvfDisk>,
    pub systems: Vec<VirtualSystem>,
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name).to_string();
    s.rsplit(':').next().unwrap_or(&s).to_string()
}

impl Ovf {
    pub fn parse(xml: &str) -> Result<Ovf, String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().trim_text(true);
        let mut ovf = Ovf::default();
        let mut files: Vec<(String, String)> = Vec::new();
        let mut path: Vec<String> = Vec::new();
        let mut item: Option<OvfItem> = None;
        let mut text = String::new();
        let mut saw_envelope = false;
        loop {
            let ev = reader
                .read_event()
                .map_err(|e| format!("XML error at {}: {e}", reader.buffer_position()))?;
            match ev {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let name = local(e.name().as_ref());
                    let mut attrs = Vec::new();
                    for a in e.attributes().flatten() {
                        let v = a
                            .unescape_value()
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        attrs.push((local(a.key.as_ref()), v));
                    }
                    let attr = |k: &str| {
                        attrs
                            .iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    match name.as_str() {
                        "Envelope" => saw_envelope = true,
                        "File" => files.push((attr("id"), attr("href"))),
                        "Disk" if path.last().map(String::as_str) == Some("DiskSection") => {
                            ovf.disks.push(OvfDisk {
                                id: attr("diskId"),
                                href: attr("fileRef"),
                                capacity: attr("capacity").parse().unwrap_or(0),
                                populated: attr("populatedSize").parse().unwrap_or(0),
                            });
                        }
                        "VirtualSystem" => ovf.systems.push(VirtualSystem {
                            id: attr("id"),
                            ..Default::default()
                        }),
                        "OperatingSystemSection" => {
                            if let Some(vs) = ovf.systems.last_mut() {
                                vs.os_type = os_from_cim(&attr("id"));
                            }
                        }
                        "Item" | "StorageItem" | "EthernetPortItem" => {
                            item = Some(OvfItem::default())
                        }
                        "Property" => {
                            if let Some(vs) = ovf.systems.last_mut() {
                                vs.properties.push((attr("key"), attr("value")));
                            }
                        }
                        "Adapter" if path.iter().any(|p| p == "Machine") => {
                            if let Some(vs) = ovf.systems.last_mut() {
                                let slot = attr("slot").parse::<u32>().unwrap_or(0);
                                let mac = attr("MACAddress");
                                if !mac.is_empty() {
                                    vs.macs.push((slot, mac));
                                }
                            }
                        }
                        _ => {}
                    }
                    if matches!(ev, Event::Start(_)) {
                        path.push(name);
                    }
                    text.clear();
                }
                Event::Text(t) => {
                    text.push_str(&t.unescape().map(|t| t.to_string()).unwrap_or_default())
                }
                Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
                Event::End(e) => {
                    let name = local(e.name().as_ref());
                    path.pop();
                    let parent = path.last().cloned().unwrap_or_default();
                    if let Some(it) = item.as_mut() {
                        match name.as_str() {
                            "InstanceID" => it.instance_id = text.clone(),
                            "ResourceType" => it.resource_type = text.trim().parse().unwrap_or(0),
                            "ResourceSubType" => it.subtype = text.clone(),
                            "VirtualQuantity" => it.quantity = text.trim().parse().unwrap_or(0),
                            "AllocationUnits" => it.units = text.clone(),
                            "Connection" => it.connection = text.clone(),
                            "HostResource" => it.host_resource = text.clone(),
                            "Parent" => it.parent = text.clone(),
                            "AddressOnParent" => it.address_on_parent = text.clone(),
                            "Address" => it.address = text.clone(),
                            "ElementName" => it.element_name = text.clone(),
                            _ => {}
                        }
                    }
                    match name.as_str() {
                        "Item" | "StorageItem" | "EthernetPortItem" => {
                            if let (Some(it), Some(vs)) = (item.take(), ovf.systems.last_mut()) {
                                vs.items.push(it);
                            }
                        }
                        "OSType" if parent == "OperatingSystemSection" => {
                            if let Some(vs) = ovf.systems.last_mut() {
                                vs.os_type = text.trim().to_string();
                            }
                        }
                        "Description" if parent == "AnnotationSection" => {
                            if let Some(vs) = ovf.systems.last_mut() {
                                vs.description = text.clone();
                            }
                        }
                        _ => {}
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !saw_envelope {
            return Err("not an OVF descriptor (no Envelope element)".into());
        }
        for d in &mut ovf.disks {
            if let Some((_, href)) = files.iter().find(|(id, _)| *id == d.href) {
                d.href = href.clone();
            }
        }
        Ok(ovf)
    }
}

/// CIM OS ids VirtualBox maps to its OS type ids (the common Linux ones).
fn os_from_cim(id: &str) -> String {
    match id {
        "96" => "Debian_64",
        "94" => "Ubuntu_64",
        "101" | "100" => "Linux26_64",
        "80" => "RedHat_64",
        _ => "Other",
    }
    .to_string()
}

/// What `make-ova` describes.
pub struct ApplianceSpec<'a> {
    pub name: &'a str,
    pub memory: u32,
    pub cpus: u32,
    pub nics: u32,
    pub disk_href: &'a str,
    pub disk_capacity: u64,
    pub disk_populated: u64,
    pub disk_uuid: &'a str,
    pub user: &'a str,
    pub has_password: bool,
    pub key_count: usize,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An OVF 1.0 descriptor as VirtualBox writes it (sections, namespaces and item layout).
pub fn render(spec: &ApplianceSpec) -> String {
    let name = esc(spec.name);
    let user = esc(spec.user);
    let mut items = String::new();
    let mut item = |body: String| items.push_str(&format!("      <Item>\n{body}      </Item>\n"));
    item(format!(
        "        <rasd:Caption>{n} virtual CPU</rasd:Caption>\n        <rasd:Description>Number of virtual CPUs</rasd:Description>\n        <rasd:ElementName>{n} virtual CPU</rasd:ElementName>\n        <rasd:InstanceID>1</rasd:InstanceID>\n        <rasd:ResourceType>3</rasd:ResourceType>\n        <rasd:VirtualQuantity>{n}</rasd:VirtualQuantity>\n",
        n = spec.cpus
    ));
    item(format!(
        "        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>\n        <rasd:Caption>{m} MB of memory</rasd:Caption>\n        <rasd:Description>Memory Size</rasd:Description>\n        <rasd:ElementName>{m} MB of memory</rasd:ElementName>\n        <rasd:InstanceID>2</rasd:InstanceID>\n        <rasd:ResourceType>4</rasd:ResourceType>\n        <rasd:VirtualQuantity>{m}</rasd:VirtualQuantity>\n",
        m = spec.memory
    ));
    item("        <rasd:Address>0</rasd:Address>\n        <rasd:Caption>ideController0</rasd:Caption>\n        <rasd:Description>IDE Controller</rasd:Description>\n        <rasd:ElementName>ideController0</rasd:ElementName>\n        <rasd:InstanceID>3</rasd:InstanceID>\n        <rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>\n        <rasd:ResourceType>5</rasd:ResourceType>\n".into());
    item("        <rasd:Address>0</rasd:Address>\n        <rasd:Caption>sataController0</rasd:Caption>\n        <rasd:Description>SATA Controller</rasd:Description>\n        <rasd:ElementName>sataController0</rasd:ElementName>\n        <rasd:InstanceID>4</rasd:InstanceID>\n        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>\n        <rasd:ResourceType>20</rasd:ResourceType>\n".into());
    item("        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n        <rasd:Caption>disk1</rasd:Caption>\n        <rasd:Description>Disk Image</rasd:Description>\n        <rasd:ElementName>disk1</rasd:ElementName>\n        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>\n        <rasd:InstanceID>5</rasd:InstanceID>\n        <rasd:Parent>4</rasd:Parent>\n        <rasd:ResourceType>17</rasd:ResourceType>\n".into());
    for n in 0..spec.nics {
        item(format!(
            "        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>\n        <rasd:Connection>NAT</rasd:Connection>\n        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>\n        <rasd:InstanceID>{}</rasd:InstanceID>\n        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>\n        <rasd:ResourceType>10</rasd:ResourceType>\n",
            6 + n
        ));
    }
    format!(
        r#"<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="{href}"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="{cap}" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" ovf:populatedSize="{pop}" vbox:uuid="{uuid}"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <ProductSection>
      <Info>Meta-information about the installed software</Info>
      <Product>{name}</Product>
      <Vendor>vboxsim</Vendor>
      <Version>1.0</Version>
      <Property ovf:key="vboxsim.login.user" ovf:type="string" ovf:userConfigurable="false" ovf:value="{user}">
        <Label>Login user (created at first boot, passwordless sudo)</Label>
      </Property>
      <Property ovf:key="vboxsim.login.password" ovf:type="string" ovf:userConfigurable="false" ovf:value="{pw}">
        <Label>Password login (SHA-512 crypt hash on the disk)</Label>
      </Property>
      <Property ovf:key="vboxsim.login.authorized-keys" ovf:type="uint32" ovf:userConfigurable="false" ovf:value="{keys}">
        <Label>Number of authorized public keys on the disk</Label>
      </Property>
    </ProductSection>
    <OperatingSystemSection ovf:id="96">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian_64</Description>
      <vbox:OSType ovf:required="false">Debian_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
{items}    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#,
        href = esc(spec.disk_href),
        cap = spec.disk_capacity,
        pop = spec.disk_populated,
        uuid = spec.disk_uuid,
        pw = if spec.has_password { "set" } else { "none" },
        keys = spec.key_count,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_then_parse() {
        let xml = render(&ApplianceSpec {
            name: "deb",
            memory: 1024,
            cpus: 2,
            nics: 2,
            disk_href: "deb-disk001.vmdk",
            disk_capacity: 10 << 30,
            disk_populated: 1 << 30,
            disk_uuid: "00000000-0000-0000-0000-000000000001",
            user: "student",
            has_password: true,
            key_count: 1,
        });
        let ovf = Ovf::parse(&xml).unwrap();
        assert_eq!(ovf.disks[0].href, "deb-disk001.vmdk");
        assert_eq!(ovf.disks[0].capacity, 10 << 30);
        let vs = &ovf.systems[0];
        assert_eq!(vs.id, "deb");
        assert_eq!(vs.os_type, "Debian_64");
        assert_eq!(vs.items.iter().filter(|i| i.resource_type == 10).count(), 2);
        assert!(
            vs.properties
                .contains(&("vboxsim.login.user".into(), "student".into()))
        );
        assert!(Ovf::parse("<x/>").is_err());
    }
}
