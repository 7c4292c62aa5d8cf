/// The sandbox tenants' own lists — boards, statuses, queues, priorities, ticket types, outcomes, companies — in
/// each PSA's shapes (docs/psa-sandbox.md), inactive and deleted entries included so a client that
/// forgets to filter them shows it. The first companies are named like the Datto sandbox's first customers
/// ("Acme Corp", "Globex LLC"), as MSPs usually name a customer alike in both.
enum PSASandboxPicklists {
    // ConnectWise: `service/boards`, `service/boards/{id}/statuses`, `service/priorities`, `company/companies`.
    static var connectWiseBoards: [[String: Any]] {
        [
            ["id": 1, "name": "Professional Services", "inactiveFlag": false],
            ["id": 3, "name": "Help Desk", "inactiveFlag": false],
            ["id": 7, "name": "Backups & BCDR", "inactiveFlag": false],
            ["id": 9, "name": "Old Projects", "inactiveFlag": true]
        ]
    }
    static var connectWiseStatuses: [Int: [[String: Any]]] {
        [
            1: [
                ["id": 16, "name": "New (not responded)", "sortOrder": 0, "closedStatus": false, "inactive": false],
                ["id": 17, "name": "In Progress", "sortOrder": 1, "closedStatus": false, "inactive": false],
                ["id": 20, "name": "Closed", "sortOrder": 9, "closedStatus": true, "inactive": false]
            ],
            3: [
                ["id": 30, "name": "New", "sortOrder": 0, "closedStatus": false, "inactive": false],
                ["id": 31, "name": "Waiting on client", "sortOrder": 1, "closedStatus": false, "inactive": false],
                ["id": 35, "name": "Resolved", "sortOrder": 9, "closedStatus": true, "inactive": false]
            ],
            7: [
                ["id": 40, "name": "New", "sortOrder": 0, "closedStatus": false, "inactive": false],
                ["id": 41, "name": "Assigned", "sortOrder": 1, "closedStatus": false, "inactive": false],
                ["id": 45, "name": "Completed", "sortOrder": 8, "closedStatus": true, "inactive": false],
                ["id": 46, "name": "Closed (old)", "sortOrder": 9, "closedStatus": true, "inactive": true]
            ],
            9: [["id": 90, "name": "Open", "sortOrder": 0, "closedStatus": false, "inactive": false]]
        ]
    }
    /// The closed status a technician picks on a board (the board's first, or 20 on an unknown board).
    static func connectWiseClosedStatusId(board: Int?) -> Int {
        board.flatMap { connectWiseStatuses[$0] }?.first { $0["closedStatus"] as? Bool == true && $0["inactive"] as? Bool == false }?["id"]
            as? Int ?? 20
    }

    /// A status's name on any board, as ConnectWise shows it on a ticket.
    static func connectWiseStatusName(_ id: Int) -> String? {
        connectWiseStatuses.values.joined().first { $0["id"] as? Int == id }?["name"] as? String
    }

    static var connectWiseClosedStatusIds: Set<Int> {
        Set(connectWiseStatuses.values.joined().filter { $0["closedStatus"] as? Bool == true }.compactMap { $0["id"] as? Int })
    }
    static var connectWisePriorities: [[String: Any]] {
        [
            ["id": 8, "name": "Priority 1 - Emergency Response", "sortOrder": 2],
            ["id": 2, "name": "Priority 2 - Quick Response", "sortOrder": 4],
            ["id": 3, "name": "Priority 3 - Normal Response", "sortOrder": 6],
            ["id": 4, "name": "Priority 4 - Schedule Maintenance", "sortOrder": 8]
        ]
    }
    static var connectWiseCompanies: [[String: Any]] {
        [
            ["id": 250, "identifier": "AcmeCorp", "name": "Acme Corp", "deletedFlag": false],
            ["id": 251, "identifier": "GlobexLLC", "name": "Globex LLC", "deletedFlag": false],
            ["id": 252, "identifier": "ContosoBuild", "name": "Contoso Builders", "deletedFlag": false],
            ["id": 19, "identifier": "XYZTestCompany", "name": "XYZ Test Company", "deletedFlag": false],
            ["id": 260, "identifier": "GoneCo", "name": "Gone Co (deleted)", "deletedFlag": true]
        ]
    }

    // Autotask: `Tickets/entityInformation/fields` (pick list values are strings; fields that are not pick lists
    // carry an empty list) and `Companies/query`.
    static var autotaskTicketFields: [[String: Any]] {
        [
            ["name": "companyID", "dataType": "integer", "isRequired": true, "isPickList": false, "picklistValues": [[String: Any]]()],
            [
                "name": "title", "dataType": "string", "isRequired": true, "isPickList": false, "length": 255,
                "picklistValues": [[String: Any]]()
            ],
            [
                "name": "queueID", "dataType": "integer", "isRequired": false, "isPickList": true,
                "picklistValues": [
                    ["value": "29682833", "label": "Monitoring Alert", "isActive": true, "isDefaultValue": false, "sortOrder": 0],
                    ["value": "29683354", "label": "Client Portal", "isActive": true, "isDefaultValue": false, "sortOrder": 1],
                    ["value": "29683355", "label": "Level I Support", "isActive": true, "isDefaultValue": true, "sortOrder": 2],
                    ["value": "8", "label": "Post Sale", "isActive": false, "isDefaultValue": false, "sortOrder": 3]
                ]
            ],
            [
                "name": "status", "dataType": "integer", "isRequired": true, "isPickList": true,
                "picklistValues": [
                    ["value": "1", "label": "New", "isActive": true, "isDefaultValue": true, "sortOrder": 0],
                    ["value": "8", "label": "In Progress", "isActive": true, "isDefaultValue": false, "sortOrder": 1],
                    ["value": "7", "label": "Waiting Customer", "isActive": true, "isDefaultValue": false, "sortOrder": 2],
                    ["value": "5", "label": "Complete", "isActive": true, "isDefaultValue": false, "sortOrder": 9]
                ]
            ],
            [
                "name": "priority", "dataType": "integer", "isRequired": true, "isPickList": true,
                "picklistValues": [
                    ["value": "4", "label": "Critical", "isActive": true, "isDefaultValue": false, "sortOrder": 0],
                    ["value": "1", "label": "High", "isActive": true, "isDefaultValue": false, "sortOrder": 1],
                    ["value": "2", "label": "Medium", "isActive": true, "isDefaultValue": true, "sortOrder": 2],
                    ["value": "3", "label": "Low", "isActive": true, "isDefaultValue": false, "sortOrder": 3]
                ]
            ]
        ]
    }
    static var autotaskCompanies: [[String: Any]] {
        [
            ["id": 29_683_501, "companyName": "Acme Corp", "isActive": true],
            ["id": 29_683_502, "companyName": "Globex LLC", "isActive": true],
            ["id": 29_683_503, "companyName": "Contoso Builders", "isActive": true],
            ["id": 29_683_999, "companyName": "Former Client Ltd", "isActive": false]
        ]
    }

    // HaloPSA: `api/TicketType`, `api/Priority` (one list per SLA), `api/Status`, `api/Outcome`, `api/Client`.
    static var haloTicketTypes: [[String: Any]] {
        [
            ["id": 1, "name": "Incident"], ["id": 21, "name": "Alert"], ["id": 3, "name": "Change Request (needs CAB approval)"]
        ]
    }
    static var haloPriorities: [[String: Any]] {
        [
            ["priorityid": 1, "slaid": 1, "name": "Critical"], ["priorityid": 2, "slaid": 1, "name": "High"],
            ["priorityid": 3, "slaid": 1, "name": "Medium"], ["priorityid": 4, "slaid": 1, "name": "Low"],
            ["priorityid": 1, "slaid": 2, "name": "Critical"], ["priorityid": 2, "slaid": 2, "name": "High"]
        ]
    }
    static var haloStatuses: [[String: Any]] {
        [
            ["id": 1, "name": "New"], ["id": 2, "name": "In Progress"], ["id": 3, "name": "Action Required"], ["id": 9, "name": "Closed"]
        ]
    }
    static var haloOutcomes: [[String: Any]] {
        [
            ["id": 7, "outcome": "Private Note"], ["id": 1, "outcome": "Email User"], ["id": 8, "outcome": "Note"]
        ]
    }
    static var haloClients: [[String: Any]] {
        [
            ["id": 12, "name": "Acme Corp", "inactive": false], ["id": 13, "name": "Globex LLC", "inactive": false],
            ["id": 14, "name": "Contoso Builders", "inactive": false], ["id": 15, "name": "Old Client", "inactive": true]
        ]
    }
}
